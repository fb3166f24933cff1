import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CHECKS } from '../index.ts';
import { runCheck } from '../run-check.ts';
import type { CheckInput } from '../run-check.ts';
import type { CheckRunResult } from '../types.ts';
import { familyStatsFrom } from './family-stats.ts';
import { snapshotOf } from './snapshot-fixture.ts';

const ARCH_IDS = [
  'config-vs-weights',
  'activation-family',
  'attention-config',
  'rope-scaling',
  'max-positions',
  'config-hparams',
  'family-consensus',
  'base-model-diff',
  'config-changed',
  'remote-code',
];
const ARCH = ALL_CHECKS.filter((c) => ARCH_IDS.includes(c.id));

async function runAll(ctx: CheckInput): Promise<Record<string, CheckRunResult>> {
  const out: Record<string, CheckRunResult> = {};
  for (const c of ARCH) out[c.id] = await runCheck(c, ctx);
  return out;
}

describe('architecture checks in the catalog', () => {
  it('are all registered, on the CPU queue, and declare their finding codes', () => {
    assert.deepEqual(ARCH.map((c) => c.id).sort(), [...ARCH_IDS].sort());
    assert.ok(ARCH.every((c) => c.queue === 'checks'));
    const codes = new Set(ARCH.flatMap((c) => c.codes));
    for (const code of [
      'SHAPE_MISMATCH',
      'TIED_EMBEDDINGS_MISMATCH',
      'DTYPE_MISMATCH',
      'HEAD_DIM_MISMATCH',
      'ACT_MISMATCH',
      'QUERY_SCALE_MISMATCH',
      'SWA_OFF_BY_ONE',
      'ROPE_SCALING',
      'SOFTCAP_MISSING',
      'MAX_POS_MISMATCH',
      'CONFIG_HPARAM_MISMATCH',
      'BASE_MODEL_MISMATCH',
      'CONFIG_CHANGED',
      'REMOTE_CODE',
    ] as const) {
      assert.ok(codes.has(code), code);
    }
  });

  it('a config-only release of an unknown model_type: shape checks skip, the rest run', async () => {
    const config = {
      model_type: 'never_seen',
      hidden_size: 512,
      num_attention_heads: 8,
      num_hidden_layers: 4,
      hidden_act: 'silu',
      sliding_window: 1023,
      max_position_embeddings: 4096,
      attention_dropout: 0.1,
      rope_scaling: { rope_type: 'linear' },
    };
    const r = await runAll({ release: snapshotOf({ config }) });
    assert.equal(r['config-vs-weights'].status, 'skipped');
    assert.equal(r['family-consensus'].status, 'skipped');
    assert.equal(r['base-model-diff'].status, 'skipped');
    assert.equal(r['config-changed'].status, 'skipped');
    assert.ok(
      Object.values(r).every((x) => x.status !== 'error'),
      JSON.stringify(Object.values(r).filter((x) => x.status === 'error')),
    );
    const found = Object.values(r)
      .flatMap((x) => x.findings.map((f) => f.code))
      .sort();
    assert.deepEqual(found, ['CONFIG_HPARAM_MISMATCH', 'ROPE_SCALING', 'SWA_OFF_BY_ONE']);
  });

  it('an unknown model_type with family statistics of its own still gets the consensus', async () => {
    const peers = Array.from({ length: 6 }, () => ({
      model_type: 'never_seen',
      rms_norm_eps: 1e-6,
      hidden_act: 'silu',
    }));
    const r = await runCheck(
      ARCH.find((c) => c.id === 'family-consensus')!,
      {
        release: snapshotOf({ config: { model_type: 'never_seen', rms_norm_eps: 1e-2, hidden_act: 'silu' } }),
        family: familyStatsFrom('never_seen', peers),
      },
    );
    assert.deepEqual(
      r.findings.map((f) => f.code),
      ['CONFIG_HPARAM_MISMATCH'],
    );
  });

  it('every finding carries a readable evidence table', async () => {
    const config = {
      model_type: 'gemma2',
      hidden_size: 3584,
      num_hidden_layers: 42,
      num_attention_heads: 16,
      head_dim: 256,
      hidden_act: 'gelu',
      query_pre_attn_scalar: 224,
      attn_logit_softcapping: null,
      final_logit_softcapping: 30.0,
      sliding_window: 4095,
      max_position_embeddings: 8192,
      rms_norm_eps: 1e-5,
    };
    const r = await runAll({ release: snapshotOf({ config }) });
    const findings = Object.values(r).flatMap((x) => x.findings);
    assert.deepEqual([...new Set(findings.map((f) => f.code))].sort(), [
      'ACT_MISMATCH',
      'CONFIG_HPARAM_MISMATCH',
      'QUERY_SCALE_MISMATCH',
      'SOFTCAP_MISSING',
      'SWA_OFF_BY_ONE',
    ]);
    for (const f of findings) {
      const table = f.evidence.table as Record<string, unknown>[];
      assert.ok(Array.isArray(table) && table.length > 0, f.code);
      for (const row of table) {
        assert.equal(typeof row.field, 'string');
        assert.equal(typeof row.source, 'string');
        assert.ok('value' in row);
      }
    }
  });
});
