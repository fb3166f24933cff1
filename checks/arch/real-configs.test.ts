import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCheck } from '../run-check.ts';
import type { Check, Finding } from '../types.ts';
import { activationFamily } from './activation-family.ts';
import { attentionConfig } from './attention-config.ts';
import { familyOf } from '../data/families.ts';
import { configHparams } from './config-hparams.ts';
import { configVsWeights } from './config-vs-weights.ts';
import { familyConsensus } from './family-consensus.ts';
import { familyStatsFrom } from './family-stats.ts';
import { maxPositions } from './max-positions.ts';
import { ropeScaling } from './rope-scaling.ts';
import { dimsOfConfig, llamaTensors, snapshotOf } from './snapshot-fixture.ts';

/** Real config.json files of released models (test/data/configs/PROVENANCE.md says where each comes from). */
const DIR = join(import.meta.dirname, '../../test/data/configs');
interface Entry {
  file: string;
  model: string;
  status: 'good' | 'bad' | 'suspect';
  expect: string[];
}
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Entry[];
const configOf = (e: Entry): Record<string, unknown> =>
  JSON.parse(readFileSync(join(DIR, e.file), 'utf8')) as Record<string, unknown>;

const CONFIG_CHECKS: Check[] = [activationFamily, attentionConfig, ropeScaling, maxPositions, configHparams];

async function findingsOf(config: Record<string, unknown>, checks: Check[] = CONFIG_CHECKS): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const check of checks) {
    const r = await runCheck(check, { release: snapshotOf({ config }) });
    assert.notEqual(r.status, 'error', `${check.id}: ${r.error}`);
    out.push(...r.findings);
  }
  return out;
}

describe('real configs of released models', () => {
  it('the manifest covers known-bad and known-good releases of several families', () => {
    assert.ok(manifest.filter((e) => e.status === 'bad').length >= 4);
    assert.ok(manifest.filter((e) => e.status === 'good').length >= 10);
    const families = new Set(manifest.map((e) => configOf(e).model_type));
    for (const f of ['gemma', 'gemma2', 'gemma3_text', 'llama', 'mistral', 'qwen2', 'phi3', 'nemotron'])
      assert.ok(families.has(f), f);
  });

  for (const e of manifest.filter((x) => x.status !== 'good')) {
    it(`${e.model} (${e.status}) is flagged ${e.expect.join(', ')}`, async () => {
      const found = await findingsOf(configOf(e));
      for (const code of e.expect)
        assert.ok(
          found.some((f) => f.code === code && f.severity !== 'info'),
          `${code} in ${found.map((f) => f.code).join(', ')}`,
        );
    });
  }

  for (const e of manifest.filter((x) => x.status === 'good')) {
    it(`${e.model} (good) gets no critical finding, config only or with matching weights`, async () => {
      const config = configOf(e);
      const critical = (await findingsOf(config)).filter((f) => f.severity === 'critical');
      assert.deepEqual(
        critical.map((f) => f.title),
        [],
      );
      if (config.text_config || config.kv_lora_rank || !config.intermediate_size) return;
      const tiny = { ...config, vocab_size: 32, intermediate_size: 8 };
      const withWeights = snapshotOf({
        config: tiny,
        tensors: llamaTensors(
          { ...dimsOfConfig(tiny), layers: config.num_hidden_layers as number },
          {
            lmHead: config.tie_word_embeddings !== true,
            mlp: familyOf(config.model_type as string)?.gatedMlp.value === false ? 'plain' : 'gated',
          },
        ),
      });
      const r = await runCheck(configVsWeights, { release: withWeights });
      assert.ok(!r.findings.some((f) => f.severity === 'critical'), JSON.stringify(r.findings.map((f) => f.title)));
    });
  }

  it('real configs make a family the consensus check can read', async () => {
    const gemma2 = manifest.filter((e) => e.status === 'good' && configOf(e).model_type === 'gemma2').map(configOf);
    const stats = familyStatsFrom('gemma2', [...gemma2, ...gemma2]);
    const bad = configOf(manifest.find((e) => e.file.includes('224-reconstructed'))!);
    const r = await runCheck(familyConsensus, { release: snapshotOf({ config: bad }), family: stats });
    assert.equal(
      r.status,
      'passed',
      'query_pre_attn_scalar varies by size in gemma2 (256 / 144): no 90% majority family-wide',
    );
    const nine = manifest.filter((e) => e.status === 'good' && /gemma-2-9b/.test(e.model)).map(configOf);
    const sized = familyStatsFrom('gemma2', [...nine, ...nine, ...nine]);
    const s = await runCheck(familyConsensus, { release: snapshotOf({ config: bad }), family: sized });
    assert.deepEqual(
      s.findings.map((f) => f.code),
      ['QUERY_SCALE_MISMATCH'],
    );
  });
});
