/**
 * Rules written from bugs the regression corpus (test/data/corpus) revealed: each fires on the real files before the
 * publisher's fix and stays quiet on the files after it, and on a case that must not fire.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configIdentity } from './arch/config-identity.ts';
import { maxPositions } from './arch/max-positions.ts';
import { snapshotOf } from './arch/snapshot-fixture.ts';
import { runCheck } from './run-check.ts';
import { specialTokenIds } from './tokenizer/special-token-ids.ts';
import type { Check, Finding, Snapshot } from './types.ts';

const CORPUS = join(import.meta.dirname, '../test/data/corpus');

/** A corpus release as a snapshot of its JSON files (no weights, no tokenizer.json). */
function release(name: string): Snapshot {
  const dir = join(CORPUS, name);
  const texts = Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f !== 'provenance.json')
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );
  return snapshotOf({ texts });
}

async function codes(check: Check, snap: Snapshot, code: string): Promise<Finding[]> {
  const r = await runCheck(check, { release: snap });
  assert.notEqual(r.status, 'error', r.error);
  return r.findings.filter((f) => f.code === code);
}

describe('one token string named for two roles has one id (special-token-ids)', () => {
  it('fires on InternLM-20B before "fix pad token id": pad "</s>" is the eos, id 2, but pad_token_id 0', async () => {
    const f = await codes(specialTokenIds, release('internlm--internlm-20b@632df84'), 'SPECIAL_TOKEN_ID_MISMATCH');
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'warning');
    assert.match(f[0].title, /<\/s> is the eos and the pad token.*eos_token_id 2, pad_token_id 0/);
  });

  it('fires on Vicuna-7b-delta-v0 before "Fix tokenizer configs": bos "</s>" with bos_token_id 1, eos_token_id 2', async () => {
    const f = await codes(specialTokenIds, release('lmsys--vicuna-7b-delta-v0@681474e'), 'SPECIAL_TOKEN_ID_MISMATCH');
    assert.equal(f.length, 1);
    assert.match(f[0].title, /<\/s> is the bos and the eos token/);
  });

  it('is quiet after both fixes, and when the shared token has one id (Qwen-style pad = eos)', async () => {
    for (const name of ['internlm--internlm-20b@c56a729', 'lmsys--vicuna-7b-delta-v0@142d4e1'])
      assert.deepEqual(await codes(specialTokenIds, release(name), 'SPECIAL_TOKEN_ID_MISMATCH'), [], name);
    const same = snapshotOf({
      config: { eos_token_id: 151643, pad_token_id: 151643 },
      texts: {
        'tokenizer_config.json': JSON.stringify({ eos_token: '<|endoftext|>', pad_token: '<|endoftext|>' }),
      },
    });
    assert.deepEqual(await codes(specialTokenIds, same, 'SPECIAL_TOKEN_ID_MISMATCH'), []);
  });

  it('does not compare roles whose tokens differ, nor ids from different files', async () => {
    const snap = snapshotOf({
      config: { bos_token_id: 1, eos_token_id: 2 },
      texts: {
        'generation_config.json': JSON.stringify({ pad_token_id: 0 }),
        'tokenizer_config.json': JSON.stringify({ bos_token: '<s>', eos_token: '</s>', pad_token: '</s>' }),
      },
    });
    assert.deepEqual(await codes(specialTokenIds, snap, 'SPECIAL_TOKEN_ID_MISMATCH'), []);
  });
});

describe('a saved generation length past max_position_embeddings (max-positions)', () => {
  it('fires on Llama-2-7b-hf before 335a028: max_length 4096, max_position_embeddings 2048', async () => {
    const f = await codes(maxPositions, release('meta-llama--Llama-2-7b-hf@478c803'), 'MAX_POS_MISMATCH');
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'warning');
    assert.match(f[0].title, /max_length is 4096, expected ≤ max_position_embeddings \(2048\)/);
  });

  it('is quiet after the fix, at equal lengths, and when RoPE scaling stretches the range', async () => {
    assert.deepEqual(await codes(maxPositions, release('meta-llama--Llama-2-7b-hf@8cca527'), 'MAX_POS_MISMATCH'), []);
    const scaled = snapshotOf({
      config: {
        max_position_embeddings: 8192,
        max_length: 32768,
        rope_scaling: { rope_type: 'dynamic', factor: 4.0 },
      },
    });
    assert.deepEqual(await codes(maxPositions, scaled, 'MAX_POS_MISMATCH'), []);
    const equal = snapshotOf({
      config: { max_position_embeddings: 4096 },
      texts: { 'generation_config.json': JSON.stringify({ max_length: 4096 }) },
    });
    assert.deepEqual(await codes(maxPositions, equal, 'MAX_POS_MISMATCH'), []);
  });
});

describe('the context length under the keys transformers maps onto max_position_embeddings (max-positions)', () => {
  it("fires on replit-code-v1_5-3b before b85a5dd: model_max_length 8192 over MPT's max_seq_len 4096", async () => {
    const f = await codes(maxPositions, release('replit--replit-code-v1_5-3b@7ae75a4'), 'MAX_POS_MISMATCH');
    assert.equal(f.length, 1);
    assert.match(f[0].title, /model_max_length is 8192, expected ≤ max_seq_len \(4096\)/);
  });

  it('is quiet after the fix and on a GPT-2 style n_positions that matches', async () => {
    assert.deepEqual(await codes(maxPositions, release('replit--replit-code-v1_5-3b@b85a5dd'), 'MAX_POS_MISMATCH'), []);
    const gpt2 = snapshotOf({
      config: { model_type: 'gpt2', n_positions: 1024 },
      texts: { 'tokenizer_config.json': JSON.stringify({ model_max_length: 1024 }) },
    });
    assert.deepEqual(await codes(maxPositions, gpt2, 'MAX_POS_MISMATCH'), []);
  });
});

describe('a head suffix stacked on a bare-model class (config-identity)', () => {
  it("fires on BLOOM's BloomModelForCausalLM (before Hub PR #189)", async () => {
    const f = await codes(configIdentity, release('bigscience--bloom@dede1ba'), 'MODEL_TYPE_MISMATCH');
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'warning');
    assert.match(f[0].title, /BloomModelForCausalLM, a class transformers does not have/);
  });

  it('is quiet on BloomForCausalLM, GPT2LMHeadModel, bare models and remote-code classes', async () => {
    assert.deepEqual(await codes(configIdentity, release('bigscience--bloom@ea51bbb'), 'MODEL_TYPE_MISMATCH'), []);
    for (const config of [
      { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] },
      { model_type: 'bert', architectures: ['BertModel'] },
      {
        model_type: 'custom',
        architectures: ['CustomModelForCausalLM'],
        auto_map: { AutoModelForCausalLM: 'modeling_custom.CustomModelForCausalLM' },
      },
    ])
      assert.deepEqual(
        await codes(configIdentity, snapshotOf({ config }), 'MODEL_TYPE_MISMATCH'),
        [],
        config.model_type,
      );
  });
});
