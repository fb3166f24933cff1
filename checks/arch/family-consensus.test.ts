import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCheck } from '../run-check.ts';
import { codes } from '../test-helpers.ts';
import type { CheckRunResult, FamilyStats } from '../types.ts';
import { familyConsensus } from './family-consensus.ts';
import { familyStatsFrom } from './family-stats.ts';
import { snapshotOf } from './snapshot-fixture.ts';

const QWEN = {
  model_type: 'qwen2',
  hidden_size: 3584,
  num_hidden_layers: 28,
  hidden_act: 'silu',
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  max_position_embeddings: 32768,
};
const many = (n: number, patch: Record<string, unknown> = {}): Record<string, unknown>[] =>
  Array.from({ length: n }, () => ({ ...QWEN, ...patch }));

const run = (config: Record<string, unknown>, family: FamilyStats | null): Promise<CheckRunResult> =>
  runCheck(familyConsensus, { release: snapshotOf({ config }), family });

describe('familyStatsFrom', () => {
  it('counts tracked values, absent keys as their family default or null, per size too', () => {
    const stats = familyStatsFrom('qwen2', [
      ...many(3),
      { ...QWEN, hidden_size: 896, num_hidden_layers: 24, rope_scaling: { type: 'yarn', factor: 4.0 } },
      { model_type: 'qwen2' },
    ]);
    assert.equal(stats.releases, 5);
    assert.deepEqual(stats.values.rms_norm_eps, { '0.000001': 4, null: 1 });
    assert.deepEqual(stats.values.hidden_act, { '"silu"': 5 }, 'absent hidden_act counts as the qwen2 default');
    assert.deepEqual(stats.values['rope_scaling.rope_type'], { null: 4, '"yarn"': 1 });
    assert.equal(stats.sizes?.['3584x28'].releases, 3);
    assert.equal(stats.sizes?.['896x24'].releases, 1);
    assert.ok(!('hidden_size' in stats.values), 'only tracked keys');
  });
});

describe('family-consensus', () => {
  it('flags a value off a large majority, with the distribution as evidence', async () => {
    const r = await run({ ...QWEN, rms_norm_eps: 1e-5, hidden_act: 'gelu' }, familyStatsFrom('qwen2', many(20)));
    assert.deepEqual(codes(r), ['warning:ACT_MISMATCH', 'warning:CONFIG_HPARAM_MISMATCH']);
    const eps = r.findings.find((f) => f.code === 'CONFIG_HPARAM_MISMATCH')!;
    const row = (eps.evidence.table as { field: string; value: unknown; expected: unknown; source: string }[])[0];
    assert.deepEqual([row.field, row.value, row.expected], ['rms_norm_eps', 1e-5, 1e-6]);
    assert.match(row.source, /20 of 20 other qwen2 3584x28 releases/);
    assert.deepEqual((eps.evidence.distribution as Record<string, unknown>).rms_norm_eps, { '0.000001': 20 });
  });

  it('stays quiet without a large majority, and maps softcaps and max positions to their codes', async () => {
    const split = familyStatsFrom('qwen2', [...many(6), ...many(4, { rope_theta: 10000.0 })]);
    assert.equal((await run({ ...QWEN, rope_theta: 10000.0 }, split)).status, 'passed');
    const gemma = {
      model_type: 'gemma2',
      hidden_size: 3584,
      num_hidden_layers: 42,
      attn_logit_softcapping: 50.0,
      final_logit_softcapping: 30.0,
      max_position_embeddings: 8192,
    };
    const stats = familyStatsFrom(
      'gemma2',
      Array.from({ length: 10 }, () => gemma),
    );
    const r = await run({ ...gemma, final_logit_softcapping: null, max_position_embeddings: 4096 }, stats);
    assert.deepEqual(codes(r), ['warning:MAX_POS_MISMATCH', 'warning:SOFTCAP_MISSING']);
  });

  it('falls back to the whole family when the size group is small, and skips when the family is', async () => {
    const stats = familyStatsFrom('qwen2', [...many(2), ...many(8, { hidden_size: 896, num_hidden_layers: 24 })]);
    const r = await run({ ...QWEN, rms_norm_eps: 1e-5 }, stats);
    assert.match(JSON.stringify(r.findings[0].evidence), /10 other qwen2 releases/);
    const few = await run(QWEN, familyStatsFrom('qwen2', many(3)));
    assert.equal(few.status, 'skipped');
    assert.match(few.reason ?? '', /only 3 other qwen2 releases/);
    assert.equal((await run(QWEN, null)).status, 'skipped');
  });

  it('accepts statistics that count only present scalar keys (no sizes)', async () => {
    const plain: FamilyStats = { modelType: 'qwen2', releases: 10, values: { rms_norm_eps: { '0.000001': 10 } } };
    assert.deepEqual(codes(await run({ ...QWEN, rms_norm_eps: 1e-5 }, plain)), ['warning:CONFIG_HPARAM_MISMATCH']);
    assert.equal((await run(QWEN, plain)).status, 'passed', 'keys absent from the stats count as absent everywhere');
  });
});
