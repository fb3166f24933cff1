import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCheck } from '../run-check.ts';
import { codes } from '../test-helpers.ts';
import type { Check, CheckRunResult } from '../types.ts';
import { activationFamily } from './activation-family.ts';
import { attentionConfig } from './attention-config.ts';
import { configHparams } from './config-hparams.ts';
import { maxPositions } from './max-positions.ts';
import { ropeScaling } from './rope-scaling.ts';
import { snapshotOf } from './snapshot-fixture.ts';

const run = (
  check: Check,
  config: Record<string, unknown> | string | null,
  texts: Record<string, string> = {},
): Promise<CheckRunResult> => runCheck(check, { release: snapshotOf({ config, texts }) });

const GEMMA2_9B = {
  model_type: 'gemma2',
  hidden_size: 3584,
  num_hidden_layers: 42,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 256,
  hidden_act: 'gelu_pytorch_tanh',
  hidden_activation: 'gelu_pytorch_tanh',
  query_pre_attn_scalar: 256,
  attn_logit_softcapping: 50.0,
  final_logit_softcapping: 30.0,
  sliding_window: 4096,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-6,
};
const LLAMA31 = {
  model_type: 'llama',
  hidden_size: 4096,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 131072,
  hidden_act: 'silu',
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
};

describe('every config check skips cleanly without a usable config.json', () => {
  for (const check of [activationFamily, attentionConfig, ropeScaling, maxPositions, configHparams]) {
    it(check.id, async () => {
      const absent = await run(check, null);
      assert.equal(absent.status, 'skipped');
      assert.match(absent.reason ?? '', /no config\.json/);
      const broken = await run(check, '{"model_type": ');
      assert.equal(broken.status, 'skipped');
      assert.match(broken.reason ?? '', /malformed/);
    });
  }
});

describe('activation-family', () => {
  it('flags Gemma exact GELU (critical), conflicting keys (warning), and passes the tanh approximation', async () => {
    const gemma = { model_type: 'gemma', hidden_size: 3072, num_hidden_layers: 28 };
    assert.deepEqual(codes(await run(activationFamily, { ...gemma, hidden_act: 'gelu' })), ['critical:ACT_MISMATCH']);
    assert.deepEqual(
      codes(await run(activationFamily, { ...gemma, hidden_act: 'gelu', hidden_activation: 'gelu_pytorch_tanh' })),
      ['warning:ACT_MISMATCH'],
    );
    assert.equal((await run(activationFamily, { ...gemma, hidden_activation: 'gelu_pytorch_tanh' })).status, 'passed');
    assert.equal((await run(activationFamily, gemma)).status, 'passed', 'absent key: the family default applies');
  });

  it('reads the text config of a multimodal release', async () => {
    const r = await run(activationFamily, {
      model_type: 'gemma3',
      text_config: { model_type: 'gemma3_text', hidden_activation: 'gelu' },
    });
    assert.deepEqual(codes(r), ['critical:ACT_MISMATCH']);
    assert.equal((r.findings[0].evidence.table as { field: string }[])[0].field, 'text_config.hidden_activation');
  });

  it('flags silu in a relu2 family and an activation under mlp_hidden_act only', async () => {
    assert.deepEqual(codes(await run(activationFamily, { model_type: 'nemotron', hidden_act: 'silu' })), [
      'critical:ACT_MISMATCH',
    ]);
    assert.deepEqual(codes(await run(activationFamily, { model_type: 'nemotron_h', mlp_hidden_act: 'relu2' })), [
      'info:ACT_MISMATCH',
    ]);
  });

  it('runs the generic rules on an unknown model_type', async () => {
    assert.deepEqual(
      codes(await run(activationFamily, { model_type: 'brand_new', hidden_act: 'silu', hidden_activation: 'gelu' })),
      ['warning:ACT_MISMATCH'],
    );
    assert.equal((await run(activationFamily, { model_type: 'brand_new', hidden_act: 'gelu' })).status, 'passed');
  });
});

describe('attention-config', () => {
  it('checks query_pre_attn_scalar against the reference size (9b: 256, 27b: 144)', async () => {
    assert.equal((await run(attentionConfig, GEMMA2_9B)).status, 'passed');
    assert.deepEqual(codes(await run(attentionConfig, { ...GEMMA2_9B, query_pre_attn_scalar: 224 })), [
      'critical:QUERY_SCALE_MISMATCH',
    ]);
    const g27 = {
      ...GEMMA2_9B,
      hidden_size: 4608,
      num_hidden_layers: 46,
      num_attention_heads: 32,
      head_dim: 128,
      query_pre_attn_scalar: 144,
    };
    assert.equal((await run(attentionConfig, g27)).status, 'passed');
  });

  it('without a reference size: hidden/heads is a warning, anything else critical', async () => {
    const odd = { ...GEMMA2_9B, hidden_size: 3000, num_attention_heads: 12, num_key_value_heads: 4, head_dim: 256 };
    assert.deepEqual(codes(await run(attentionConfig, { ...odd, query_pre_attn_scalar: 250 })), [
      'warning:QUERY_SCALE_MISMATCH',
    ]);
    assert.deepEqual(codes(await run(attentionConfig, { ...odd, query_pre_attn_scalar: 100 })), [
      'critical:QUERY_SCALE_MISMATCH',
    ]);
    assert.deepEqual(
      codes(
        await run(attentionConfig, {
          model_type: 'brand_new',
          hidden_size: 3000,
          num_attention_heads: 12,
          head_dim: 256,
          query_pre_attn_scalar: 250,
        }),
      ),
      ['info:HEAD_DIM_MISMATCH', 'warning:QUERY_SCALE_MISMATCH'],
    );
  });

  it('flags disabled softcapping (critical), absent softcapping (warning) and another cap value', async () => {
    assert.deepEqual(codes(await run(attentionConfig, { ...GEMMA2_9B, attn_logit_softcapping: null })), [
      'critical:SOFTCAP_MISSING',
    ]);
    const { final_logit_softcapping: _f, ...noFinal } = GEMMA2_9B;
    assert.deepEqual(codes(await run(attentionConfig, noFinal)), ['warning:SOFTCAP_MISSING']);
    assert.deepEqual(codes(await run(attentionConfig, { ...GEMMA2_9B, final_logit_softcapping: 15.0 })), [
      'warning:CONFIG_HPARAM_MISMATCH',
    ]);
  });

  it('flags sliding windows one off a power of two, unless sliding is off', async () => {
    const phi = { model_type: 'phi3', hidden_size: 3072, num_attention_heads: 32, sliding_window: 2047 };
    const r = await run(attentionConfig, phi);
    assert.deepEqual(codes(r), ['warning:SWA_OFF_BY_ONE']);
    assert.equal((r.findings[0].evidence.table as { expected: number }[])[0].expected, 2048);
    assert.deepEqual(codes(await run(attentionConfig, { ...phi, sliding_window: 4097 })), ['warning:SWA_OFF_BY_ONE']);
    assert.equal((await run(attentionConfig, { ...phi, sliding_window: 4096 })).status, 'passed');
    assert.equal(
      (await run(attentionConfig, { ...phi, sliding_window: 2047, use_sliding_window: false })).status,
      'passed',
    );
    assert.deepEqual(codes(await run(attentionConfig, { ...GEMMA2_9B, sliding_window: 4095 })), [
      'warning:SWA_OFF_BY_ONE',
    ]);
  });

  it('advises on an explicit head_dim that differs from hidden/heads, except where the family decouples them', async () => {
    const nemo = { model_type: 'mistral', hidden_size: 5120, num_attention_heads: 32, head_dim: 128 };
    assert.deepEqual(codes(await run(attentionConfig, nemo)), ['info:HEAD_DIM_MISMATCH']);
    assert.deepEqual(codes(await run(attentionConfig, { ...GEMMA2_9B, head_dim: 128 })), [
      'critical:HEAD_DIM_MISMATCH',
    ]);
    assert.deepEqual(
      codes(await run(attentionConfig, { model_type: 'brand_new', hidden_size: 100, num_attention_heads: 3 })),
      ['critical:HEAD_DIM_MISMATCH'],
    );
  });
});

describe('rope-scaling', () => {
  it('passes Llama-3.1 and flags a llama3 block missing a required key (critical)', async () => {
    assert.equal((await run(ropeScaling, LLAMA31)).status, 'passed');
    const { low_freq_factor: _l, ...partial } = LLAMA31.rope_scaling;
    const r = await run(ropeScaling, { ...LLAMA31, rope_scaling: partial });
    assert.deepEqual(codes(r), ['critical:ROPE_SCALING']);
    assert.ok(
      (r.findings[0].evidence.table as { field: string }[]).some((row) => row.field === 'rope_scaling.low_freq_factor'),
    );
  });

  it('checks longrope factor lists against rotary dim / 2 (with partial_rotary_factor)', async () => {
    const list = (n: number): number[] => Array.from({ length: n }, () => 1.0);
    const phi4mini = {
      model_type: 'phi3',
      hidden_size: 3072,
      num_attention_heads: 24,
      partial_rotary_factor: 0.75,
      max_position_embeddings: 131072,
      original_max_position_embeddings: 4096,
      rope_scaling: { type: 'longrope', short_factor: list(48), long_factor: list(48) },
    };
    assert.deepEqual(codes(await run(ropeScaling, phi4mini)), ['info:ROPE_SCALING']);
    const wrong = await run(ropeScaling, {
      ...phi4mini,
      rope_scaling: { rope_type: 'longrope', short_factor: list(64), long_factor: list(48) },
    });
    assert.deepEqual(codes(wrong), ['critical:ROPE_SCALING']);
    assert.match(JSON.stringify(wrong.findings[0].evidence), /list of 48 \(rotary dim \/ 2\)/);
  });

  it('reports legacy, conflicting and unknown rope types', async () => {
    assert.deepEqual(
      codes(await run(ropeScaling, { ...LLAMA31, rope_scaling: { ...LLAMA31.rope_scaling, type: 'linear' } })),
      ['warning:ROPE_SCALING'],
    );
    assert.deepEqual(codes(await run(ropeScaling, { ...LLAMA31, rope_scaling: { rope_type: 'wavy', factor: 2.0 } })), [
      'warning:ROPE_SCALING',
    ]);
    assert.deepEqual(codes(await run(ropeScaling, { ...LLAMA31, rope_scaling: { factor: 2.0 } })), [
      'critical:ROPE_SCALING',
    ]);
    assert.deepEqual(
      codes(
        await run(ropeScaling, {
          ...LLAMA31,
          rope_scaling: {
            rope_type: 'llama3',
            factor: 8.0,
            low_freq_factor: 4.0,
            high_freq_factor: 1.0,
            original_max_position_embeddings: 8192,
          },
        }),
      ),
      ['warning:ROPE_SCALING'],
    );
  });

  it('validates transformers v5 rope_parameters, per layer type too', async () => {
    assert.equal(
      (await run(ropeScaling, { model_type: 'llama', rope_parameters: { rope_type: 'default', rope_theta: 10000.0 } }))
        .status,
      'passed',
    );
    const perLayer = {
      model_type: 'brand_new',
      rope_parameters: {
        full_attention: { rope_type: 'yarn', rope_theta: 1e6 },
        sliding_attention: { rope_type: 'default', rope_theta: 1e4 },
      },
    };
    const r = await run(ropeScaling, perLayer);
    assert.deepEqual(codes(r), ['critical:ROPE_SCALING']);
    assert.equal(
      (r.findings[0].evidence.table as { field: string }[])[0].field,
      'rope_parameters.full_attention.factor',
    );
  });
});

describe('max-positions', () => {
  it('flags llama3 scaling whose original context is not below max_position_embeddings', async () => {
    assert.equal((await run(maxPositions, LLAMA31)).status, 'passed');
    assert.deepEqual(codes(await run(maxPositions, { ...LLAMA31, max_position_embeddings: 8192 })), [
      'warning:MAX_POS_MISMATCH',
    ]);
  });

  it('flags yarn whose factor does not match max / original, and a longer tokenizer limit', async () => {
    const yarn = {
      model_type: 'qwen2',
      max_position_embeddings: 32768,
      rope_scaling: { type: 'yarn', factor: 4.0, original_max_position_embeddings: 32768 },
    };
    assert.deepEqual(codes(await run(maxPositions, yarn)), ['warning:MAX_POS_MISMATCH']);
    assert.equal((await run(maxPositions, { ...yarn, max_position_embeddings: 131072 })).status, 'passed');
    const tok = { 'tokenizer_config.json': JSON.stringify({ model_max_length: 16384 }) };
    const r = await run(maxPositions, { model_type: 'llama', max_position_embeddings: 8192 }, tok);
    assert.deepEqual(codes(r), ['warning:MAX_POS_MISMATCH']);
    assert.deepEqual(r.findings[0].files, ['config.json', 'tokenizer_config.json']);
    const sentinel = { 'tokenizer_config.json': JSON.stringify({ model_max_length: 1e30 }) };
    assert.equal(
      (await run(maxPositions, { model_type: 'llama', max_position_embeddings: 8192 }, sentinel)).status,
      'passed',
    );
  });

  it('compares with the family reference size', async () => {
    assert.deepEqual(codes(await run(maxPositions, { ...GEMMA2_9B, max_position_embeddings: 4096 })), [
      'warning:MAX_POS_MISMATCH',
    ]);
    assert.equal((await run(maxPositions, GEMMA2_9B)).status, 'passed');
    assert.equal((await run(maxPositions, { model_type: 'brand_new' })).status, 'skipped');
  });
});

describe('config-hparams', () => {
  it('flags dropout left above zero and a norm eps off the family', async () => {
    assert.equal(
      (await run(configHparams, { model_type: 'phi3', attention_dropout: 0.0, resid_pdrop: 0.0, rms_norm_eps: 1e-5 }))
        .status,
      'passed',
    );
    const r = await run(configHparams, {
      model_type: 'phi3',
      attention_dropout: 0.0,
      resid_pdrop: 0.1,
      rms_norm_eps: 1e-6,
    });
    assert.deepEqual(codes(r), ['warning:CONFIG_HPARAM_MISMATCH', 'warning:CONFIG_HPARAM_MISMATCH']);
    assert.ok(r.findings.some((f) => /resid_pdrop = 0\.1/.test(f.title)));
    assert.ok(
      r.findings.some((f) => /rms_norm_eps is 0\.000001/.test(f.title) || /rms_norm_eps is 1e-6/.test(f.title)),
    );
  });

  it('runs the dropout rule for an unknown model_type and skips the eps rule', async () => {
    assert.deepEqual(
      codes(await run(configHparams, { model_type: 'brand_new', hidden_dropout: 0.1, rms_norm_eps: 0.3 })),
      ['warning:CONFIG_HPARAM_MISMATCH'],
    );
  });
});
