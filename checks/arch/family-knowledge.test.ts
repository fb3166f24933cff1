import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCheck } from '../run-check.ts';
import type { Check, Finding } from '../types.ts';
import { attentionConfig } from './attention-config.ts';
import { configHparams } from './config-hparams.ts';
import { slidingWindow } from './sliding-window.ts';
import { snapshotOf } from './snapshot-fixture.ts';

const DIR = join(import.meta.dirname, '../../test/data/configs');
const real = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;

async function found(check: Check, config: Record<string, unknown>, code: string): Promise<Finding[]> {
  const r = await runCheck(check, { release: snapshotOf({ config }) });
  assert.notEqual(r.status, 'error', r.error);
  return r.findings.filter((f) => f.code === code);
}

describe('SWA_MISMATCH', () => {
  it('fires on a window set on a full-attention family, with the source of the family fact', async () => {
    const f = await found(
      slidingWindow,
      { ...real('meta-llama--Meta-Llama-3-8B'), sliding_window: 4096 },
      'SWA_MISMATCH',
    );
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'warning');
    assert.match(JSON.stringify(f[0].evidence), /meta-llama\/llama3/);
    const qwen = { ...real('Qwen--Qwen2-7B'), use_sliding_window: true, sliding_window: 4096, max_window_layers: 14 };
    assert.equal((await found(slidingWindow, qwen, 'SWA_MISMATCH')).length, 1);
  });

  it('stays quiet on windows that are right or not in use', async () => {
    for (const name of [
      'google--gemma-2-9b',
      'google--gemma-2-27b',
      'google--gemma-3-1b-it',
      'Qwen--Qwen2-7B', // sliding_window 131072 with use_sliding_window false
      'Qwen--Qwen3-8B',
      'microsoft--Phi-3-mini-4k-instruct@2024-05',
      'mistralai--Mistral-7B-v0.3',
      'mistralai--Mixtral-8x7B-v0.1',
      'meta-llama--Llama-3.1-8B',
    ])
      assert.deepEqual(await found(slidingWindow, real(name), 'SWA_MISMATCH'), [], name);
    const mistralV01 = { ...real('mistralai--Mistral-7B-v0.3'), sliding_window: 4096 };
    assert.deepEqual(await found(slidingWindow, mistralV01, 'SWA_MISMATCH'), []);
    const qwenOff = { ...real('Qwen--Qwen2-7B'), sliding_window: 4096 };
    assert.deepEqual(await found(slidingWindow, qwenOff, 'SWA_MISMATCH'), []);
    // Switched on, but max_window_layers (28) leaves no layer of the 28 with a window.
    const qwenNoLayer = {
      ...real('Qwen--Qwen2-7B'),
      use_sliding_window: true,
      sliding_window: 4096,
      max_window_layers: 28,
    };
    assert.deepEqual(await found(slidingWindow, qwenNoLayer, 'SWA_MISMATCH'), []);
  });
});

describe('CONFIG_HPARAM_MISMATCH: training-time values', () => {
  it('flags dropout under any family key, use_cache false and output_router_logits true, never critical', async () => {
    const config = {
      ...real('Qwen--Qwen2-7B'),
      attention_dropout: 0.1,
      resid_pdrop: 0.05,
      hidden_dropout_prob: 0.1,
      use_cache: false,
    };
    const f = await found(configHparams, config, 'CONFIG_HPARAM_MISMATCH');
    const fields = f.flatMap((x) => (x.evidence.table as { field: string }[]).map((r) => r.field)).sort();
    assert.deepEqual(fields, ['attention_dropout', 'hidden_dropout_prob', 'resid_pdrop', 'use_cache']);
    assert.ok(f.every((x) => x.severity === 'warning'));
    const moe = { ...real('mistralai--Mixtral-8x7B-v0.1'), output_router_logits: true };
    assert.equal((await found(configHparams, moe, 'CONFIG_HPARAM_MISMATCH')).length, 1);
  });

  it('is quiet on released configs (dropout 0, use_cache true, router logits off)', async () => {
    for (const name of [
      'Qwen--Qwen2-7B',
      'mistralai--Mixtral-8x7B-v0.1',
      'meta-llama--Llama-3.1-8B',
      'google--gemma-2-9b',
    ])
      assert.deepEqual(await found(configHparams, real(name), 'CONFIG_HPARAM_MISMATCH'), [], name);
  });
});

describe('HEAD_DIM_MISMATCH from config alone', () => {
  it('fires when the heads do not split into key/value groups', async () => {
    const config = { ...real('meta-llama--Meta-Llama-3-8B'), num_key_value_heads: 5 };
    const f = await found(attentionConfig, config, 'HEAD_DIM_MISMATCH');
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'critical');
    assert.match(f[0].title, /not a multiple of num_key_value_heads 5/);
  });

  it('fires when hidden_size does not split into heads and head_dim is absent', async () => {
    const config = { ...real('meta-llama--Meta-Llama-3-8B'), num_attention_heads: 24, num_key_value_heads: 8 };
    const f = await found(attentionConfig, config, 'HEAD_DIM_MISMATCH');
    assert.ok(f.some((x) => x.severity === 'critical' && /not divisible/.test(x.title)));
  });

  it('is quiet on real GQA configs', async () => {
    for (const name of ['meta-llama--Meta-Llama-3-8B', 'Qwen--Qwen2-7B', 'mistralai--Mixtral-8x7B-v0.1'])
      assert.deepEqual(await found(attentionConfig, real(name), 'HEAD_DIM_MISMATCH'), [], name);
  });
});
