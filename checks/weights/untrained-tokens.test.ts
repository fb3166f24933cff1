import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WEIGHT_FIXTURES, writeWeightFixture } from '../../infra/fixtures/weights/untrained-fixtures.ts';
import { scanWeights, assertExpected } from '../../infra/fixtures/weights/assert-weights.ts';
import { LocalFolderSource } from '../../lib/local-source.ts';
import { buildSnapshot } from '../../lib/snapshot-builder.ts';
import { createTensorStatsProvider } from '../../lib/tensor-stats.ts';
import { runCheck } from '../run-check.ts';
import { untrainedTokens } from './untrained-tokens.ts';

describe('untrained-tokens on generated weights (local folder)', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'hubwatch-weights-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const fx of WEIGHT_FIXTURES) {
    it(`${fx.name}: ${fx.description}`, async () => {
      const dir = join(root, fx.name);
      writeWeightFixture(dir, fx);
      const { result, bytesRead } = await scanWeights(new LocalFolderSource(dir));
      assertExpected(fx, result);
      const rows = (fx.options.config?.vocab_size as number | undefined) ?? 128256;
      assert.equal(
        bytesRead,
        rows * 64 * 2 * (fx.options.tied ? 1 : 2),
        'reads exactly the embedding (and lm_head) bytes',
      );
      rmSync(dir, { recursive: true, force: true });
    });
  }

  it('puts evidence a status page can plot: per-row values, token strings, a ≤ 512-bucket norm profile', async () => {
    const fx = WEIGHT_FIXTURES.find((f) => f.name === 'llama31-identical')!;
    const dir = join(root, 'evidence');
    writeWeightFixture(dir, fx);
    const { result } = await scanWeights(new LocalFolderSource(dir));
    const f = result.findings.find((x) => x.code === 'UNTRAINED_SPECIAL_TOKEN')!;
    const rows = f.evidence.rows as {
      id: number;
      token: string;
      uses: string[];
      rules: { lmHead: string[] };
      embedding: { norm: number };
      lmHead: { norm: number };
    }[];
    assert.deepEqual(
      rows.map((r) => r.token),
      ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
    );
    assert.ok(
      rows.every((r) => r.embedding.norm === 0 && r.lmHead.norm > 0.05),
      'lm_head rows are identical, not zero',
    );
    assert.ok(
      rows.every((r) => r.rules.lmHead.includes('duplicate-rounded-row') && !r.rules.lmHead.includes('max<=1e-16')),
    );
    assert.ok(rows[0].uses.some((u) => u.startsWith('chat template')));
    const profiles = f.evidence.profiles as {
      tensor: string;
      min: number[];
      median: number[];
      max: number[];
      bucketRows: number;
    }[];
    assert.deepEqual(
      profiles.map((p) => p.tensor),
      ['model.embed_tokens.weight', 'lm_head.weight'],
    );
    assert.ok(profiles[0].median.length <= 512 && profiles[0].median.length * profiles[0].bucketRows >= 128256);
    assert.equal(profiles[0].min[profiles[0].min.length - 1], 0, 'the last bucket holds the zero rows');
  });

  it('skips when the weights cannot be read here, and when the embedding is a dtype it does not support', async () => {
    const dir = join(root, 'skip');
    writeWeightFixture(dir, WEIGHT_FIXTURES[0]);
    const snapshot = await buildSnapshot(
      new LocalFolderSource(dir),
      { repo: 'a/b', sha: 'local' },
      { maxFileBytes: 64 << 20 },
    );
    assert.equal((await runCheck(untrainedTokens, { release: snapshot })).status, 'skipped');
    const t = snapshot.safetensors!.tensors['model.embed_tokens.weight'];
    const i8 = {
      ...snapshot,
      safetensors: {
        ...snapshot.safetensors!,
        tensors: {
          ...snapshot.safetensors!.tensors,
          [t.name]: { ...t, dtype: 'I8', shape: [t.shape[0], t.shape[1] * 2] },
        },
      },
    };
    const provider = createTensorStatsProvider(new LocalFolderSource(dir), i8, { threads: 0 });
    const r = await runCheck(untrainedTokens, { release: i8, tensors: provider });
    await provider.close();
    assert.equal(r.status, 'skipped');
    assert.match(r.reason ?? '', /I8/);
  });
});
