import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCheck } from '../run-check.ts';
import { codes } from '../test-helpers.ts';
import type { Snapshot } from '../types.ts';
import { baseModelDiff, declaredBaseModels } from './base-model-diff.ts';
import { configChanged } from './config-changed.ts';
import { diffConfigs, normalizeConfig } from './config-diff.ts';
import { dimsOfConfig, llamaTensors, snapshotOf } from './snapshot-fixture.ts';

const GEMMA2_9B = {
  model_type: 'gemma2',
  hidden_size: 3584,
  num_hidden_layers: 42,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 256,
  intermediate_size: 14336,
  vocab_size: 256000,
  hidden_activation: 'gelu_pytorch_tanh',
  query_pre_attn_scalar: 256,
  attn_logit_softcapping: 50.0,
  final_logit_softcapping: 30.0,
  rms_norm_eps: 1e-6,
  torch_dtype: 'bfloat16',
  transformers_version: '4.42.0',
};
const SMALL = {
  model_type: 'llama',
  hidden_size: 64,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 128,
  vocab_size: 1000,
  num_hidden_layers: 2,
  hidden_act: 'silu',
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
};

const snap = (config: Record<string, unknown>, extra: Partial<Parameters<typeof snapshotOf>[0]> = {}): Snapshot =>
  snapshotOf({ config, ...extra });

describe('config diff helpers', () => {
  it('ignores bookkeeping keys, key order and a transformers v5 re-save', () => {
    const v4 = { ...GEMMA2_9B, rope_theta: 10000.0, torch_dtype: 'bfloat16' };
    const { rope_theta: _r, torch_dtype: _t, ...rest } = v4;
    const v5 = {
      ...rest,
      dtype: 'bfloat16',
      rope_parameters: { rope_type: 'default', rope_theta: 10000.0 },
      transformers_version: '5.0.0',
      _name_or_path: 'x',
    };
    assert.deepEqual(diffConfigs(v5, v4), []);
    assert.equal(normalizeConfig(v5).rope_theta, 10000.0);
  });

  it('says which side matches the family reference', () => {
    const [ch] = diffConfigs({ ...GEMMA2_9B, query_pre_attn_scalar: 224 }, GEMMA2_9B);
    assert.deepEqual(
      { key: ch.key, sensitivity: ch.sensitivity, reference: ch.reference },
      { key: 'query_pre_attn_scalar', sensitivity: 'critical', reference: 'theirs' },
    );
  });

  it('reads base_model from the card (string or list, not the repo itself)', () => {
    assert.deepEqual(
      declaredBaseModels({ repo: 'a/b', cardData: { base_model: ['google/gemma-2-9b', 'a/b', 'google/gemma-2-9b'] } }),
      ['google/gemma-2-9b'],
    );
    assert.deepEqual(declaredBaseModels({ repo: 'a/b', cardData: { base_model: 'meta-llama/Llama-3.1-8B' } }), [
      'meta-llama/Llama-3.1-8B',
    ]);
    assert.deepEqual(declaredBaseModels({ repo: 'a/b', cardData: null }), []);
  });
});

describe('base-model-diff', () => {
  it('skips without a base, naming the declared one', async () => {
    const r = await runCheck(baseModelDiff, {
      release: snap(GEMMA2_9B, { cardData: { base_model: 'google/gemma-2-9b' } }),
    });
    assert.equal(r.status, 'skipped');
    assert.match(r.reason ?? '', /google\/gemma-2-9b declared but not available/);
  });

  it('flags an activation or attention scale that differs from the base (critical), not a fix of the base', async () => {
    const base = snap(GEMMA2_9B, { repo: 'google/gemma-2-9b' });
    const r = await runCheck(baseModelDiff, {
      release: snap({ ...GEMMA2_9B, query_pre_attn_scalar: 224, hidden_activation: 'gelu' }),
      base,
    });
    assert.deepEqual(codes(r), ['critical:BASE_MODEL_MISMATCH']);
    const fields = (r.findings[0].evidence.table as { field: string; base: unknown }[]).map(
      (row) => `${row.field}=${String(row.base)}`,
    );
    assert.deepEqual(fields.sort(), ['hidden_activation=gelu_pytorch_tanh', 'query_pre_attn_scalar=256']);
    const fixed = await runCheck(baseModelDiff, {
      release: snap(GEMMA2_9B),
      base: snap({ ...GEMMA2_9B, query_pre_attn_scalar: 224 }),
    });
    assert.deepEqual(codes(fixed), ['info:BASE_MODEL_MISMATCH']);
    assert.equal(
      (await runCheck(baseModelDiff, { release: snap({ ...GEMMA2_9B, transformers_version: '4.50' }), base })).status,
      'passed',
    );
  });

  it('compares tensor inventories of full fine-tunes: vocabulary resize is fine, removed layers are not', async () => {
    const base = snap(SMALL, { tensors: llamaTensors(dimsOfConfig(SMALL)) });
    const resized = { ...SMALL, vocab_size: 1008 };
    const r = await runCheck(baseModelDiff, {
      release: snap(resized, { tensors: llamaTensors(dimsOfConfig(resized)) }),
      base,
    });
    assert.deepEqual(codes(r), ['info:BASE_MODEL_MISMATCH']);
    const pruned = snap(SMALL, { tensors: llamaTensors({ ...dimsOfConfig(SMALL), layers: 1 }) });
    const p = await runCheck(baseModelDiff, { release: pruned, base });
    assert.deepEqual(codes(p), ['warning:BASE_MODEL_MISMATCH']);
    assert.equal((p.findings[0].evidence.tensors as { counts: { removed: number } }).counts.removed, 9);
    const adapter = snap(SMALL, {
      tensors: llamaTensors({ ...dimsOfConfig(SMALL), layers: 1 }),
      cardData: { base_model_relation: 'adapter' },
    });
    assert.equal((await runCheck(baseModelDiff, { release: adapter, base })).status, 'passed');
  });
});

describe('config-changed', () => {
  it('skips without a previous revision', async () => {
    assert.equal((await runCheck(configChanged, { release: snap(GEMMA2_9B) })).status, 'skipped');
  });

  it('reports a fix as info and a regression away from the reference as critical', async () => {
    const before = snap({ ...GEMMA2_9B, query_pre_attn_scalar: 224 }, { sha: '1'.repeat(40) });
    const after = snap(GEMMA2_9B, { sha: '2'.repeat(40) });
    const fix = await runCheck(configChanged, { release: after, previous: before });
    assert.deepEqual(codes(fix), ['info:CONFIG_CHANGED']);
    assert.match(fix.findings[0].title, /query_pre_attn_scalar 224 → 256/);
    assert.match(JSON.stringify(fix.findings[0].evidence.table), /a fix: re-convert/);
    const regression = await runCheck(configChanged, { release: before, previous: after });
    assert.deepEqual(codes(regression), ['critical:CONFIG_CHANGED']);
  });

  it('reports sensitive changes as warnings, cosmetic ones as info, none as passed', async () => {
    const prev = snap(GEMMA2_9B);
    assert.deepEqual(
      codes(await runCheck(configChanged, { release: snap({ ...GEMMA2_9B, rope_theta: 20000.0 }), previous: prev })),
      ['warning:CONFIG_CHANGED'],
    );
    assert.deepEqual(
      codes(
        await runCheck(configChanged, {
          release: snap({ ...GEMMA2_9B, initializer_range: 0.01, pad_token_id: 1 }),
          previous: prev,
        }),
      ),
      ['info:CONFIG_CHANGED'],
    );
    assert.equal(
      (await runCheck(configChanged, { release: snap({ ...GEMMA2_9B, transformers_version: '4.44' }), previous: prev }))
        .status,
      'passed',
    );
  });

  it('reports reshaped or removed tensors as a warning', async () => {
    const prev = snap(SMALL, { tensors: llamaTensors(dimsOfConfig(SMALL)) });
    const moreInter = { ...SMALL, intermediate_size: 256 };
    const r = await runCheck(configChanged, {
      release: snap(moreInter, { tensors: llamaTensors(dimsOfConfig(moreInter)) }),
      previous: prev,
    });
    assert.deepEqual(codes(r), ['warning:CONFIG_CHANGED']);
    assert.ok(
      (r.findings[0].evidence.table as { field: string }[]).some(
        (row) => row.field === 'model.layers.0.mlp.up_proj.weight',
      ),
    );
  });

  it('reports a config.json that disappeared', async () => {
    const r = await runCheck(configChanged, { release: snapshotOf({ config: null }), previous: snap(SMALL) });
    assert.deepEqual(codes(r), ['warning:CONFIG_CHANGED']);
  });
});
