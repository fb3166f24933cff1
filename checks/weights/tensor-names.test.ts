import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configVsWeights } from '../arch/config-vs-weights.ts';
import { snapshotOf } from '../arch/snapshot-fixture.ts';
import { textLayout } from '../arch/tensor-layout.ts';
import { runCheck } from '../run-check.ts';
import type { TensorInfo } from '../types.ts';
import { tokenMatrices } from './tensor-names.ts';

const t = (name: string, shape: number[]): TensorInfo => ({
  name,
  dtype: 'BF16',
  shape,
  file: 'model.safetensors',
  dataOffsets: [0, 0],
});

/** Tensor names of an InternLM2 checkpoint (internlm/internlm2-chat-7b modeling_internlm2.py: tok_embeddings, output). */
function internlm2(): TensorInfo[] {
  const out = [
    t('model.tok_embeddings.weight', [1000, 64]),
    t('model.norm.weight', [64]),
    t('output.weight', [1000, 64]),
  ];
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}.`;
    out.push(
      t(`${p}attention.wqkv.weight`, [128, 64]),
      t(`${p}attention.wo.weight`, [64, 64]),
      t(`${p}feed_forward.w1.weight`, [128, 64]),
      t(`${p}feed_forward.w3.weight`, [128, 64]),
      t(`${p}feed_forward.w2.weight`, [64, 128]),
      t(`${p}attention_norm.weight`, [64]),
      t(`${p}ffn_norm.weight`, [64]),
    );
  }
  return out;
}

const CONFIG = {
  architectures: ['InternLM2ForCausalLM'],
  model_type: 'internlm2',
  hidden_size: 64,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 128,
  vocab_size: 1000,
  tie_word_embeddings: false,
};

describe('one embedding / lm_head locator', () => {
  it('finds InternLM2 tok_embeddings and output.weight, and every user agrees', () => {
    const snap = snapshotOf({ config: CONFIG, tensors: internlm2() });
    const m = tokenMatrices(snap);
    const layout = textLayout(snap.safetensors!);
    assert.equal(m.embedding?.name, 'model.tok_embeddings.weight');
    assert.equal(m.lmHead?.name, 'output.weight');
    assert.equal(layout?.embed?.name, m.embedding?.name);
    assert.equal(layout?.lmHead?.name, 'output.weight');
  });

  it('gives no TIED_EMBEDDINGS_MISMATCH on an untied InternLM2 checkpoint', async () => {
    const r = await runCheck(configVsWeights, { release: snapshotOf({ config: CONFIG, tensors: internlm2() }) });
    assert.notEqual(r.status, 'error', r.error);
    assert.deepEqual(
      r.findings.filter((f) => f.code === 'TIED_EMBEDDINGS_MISMATCH'),
      [],
    );
  });

  it('still reports a missing lm_head when the config says untied', async () => {
    const tensors = internlm2().filter((x) => x.name !== 'output.weight');
    const r = await runCheck(configVsWeights, { release: snapshotOf({ config: CONFIG, tensors }) });
    assert.ok(r.findings.some((f) => f.code === 'TIED_EMBEDDINGS_MISMATCH' && f.severity === 'critical'));
  });

  it('leaves a vision tower embedding alone', () => {
    const snap = snapshotOf({
      config: CONFIG,
      tensors: [t('vision_model.embeddings.word_embeddings.weight', [10, 64]), t('lm.embed_tokens.weight', [1000, 64])],
    });
    assert.equal(tokenMatrices(snap).embedding?.name, 'lm.embed_tokens.weight');
  });
});
