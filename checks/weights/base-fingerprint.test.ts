import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BASE_FIXTURES, writeFingerprintBase } from '../../infra/fixtures/weights/base-fixtures.ts';
import { assertFingerprint, fingerprintFolders } from '../../infra/fixtures/weights/fingerprint-run.ts';
import { CpuBackend } from '../../lib/compute/cpu-backend.ts';
import type { TensorDelta } from '../types.ts';
import { classifyDelta, estimateRank } from './delta-spectrum.ts';

describe('base-fingerprint on generated releases (CPU backend)', () => {
  let root: string;
  let backend: CpuBackend;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'hubwatch-fingerprint-'));
    writeFingerprintBase(join(root, 'base'));
    backend = new CpuBackend(0);
  });
  after(async () => {
    await backend.close();
    rmSync(root, { recursive: true, force: true });
  });

  for (const fx of BASE_FIXTURES) {
    it(`${fx.name}: ${fx.description}`, async () => {
      const dir = join(root, fx.name);
      fx.write(dir, 'local/base');
      const { result, bytesRead } = await fingerprintFolders(dir, join(root, 'base'), backend);
      const f = assertFingerprint(fx, result);
      assert.ok(bytesRead > 0);
      if (f) {
        const ev = f.evidence as { bytesRead: number; backend: string; device: string; tensors: { layer: number }[] };
        assert.equal(ev.bytesRead, bytesRead, 'bytes read are in the evidence');
        assert.equal(ev.device, 'cpu');
        assert.deepEqual([...new Set(ev.tensors.map((t) => t.layer))], [null, 0, 1, 2]);
      }
    });
  }

  it('compares a resized vocabulary on its common rows and says so', async () => {
    const fx = BASE_FIXTURES.find((f) => f.name === 'merged-lora')!;
    const dir = join(root, 'lora-again');
    fx.write(dir, 'local/base');
    const { result } = await fingerprintFolders(dir, join(root, 'base'), backend);
    const ev = result.findings[0].evidence as { tensors: { module: string; status: string; resized?: object }[] };
    const emb = ev.tensors.find((t) => t.module === 'embed_tokens')!;
    assert.deepEqual(emb.resized, { releaseRows: 8200, baseRows: 8192 });
    assert.equal(emb.status, 'unchanged');
    assert.match(result.findings[0].detail, /resized vocabulary/);
  });

  it('reads only the sampled rows: bytes read bounded by the per-tensor sample', async () => {
    const dir = join(root, 'small-sample');
    BASE_FIXTURES[0].write(dir, 'local/base');
    const { result, bytesRead } = await fingerprintFolders(dir, join(root, 'base'), backend, { sampleBytes: 16 << 10 });
    assert.equal(result.findings[0].code, 'WEIGHTS_IDENTICAL_TO_BASE');
    const ev = result.findings[0].evidence as { tensors: { rowsCompared: number; commonRows: number }[] };
    const emb = ev.tensors[0];
    assert.equal(emb.rowsCompared, 64, '16 KiB of 256-byte rows');
    assert.ok(bytesRead < 2 * 22 * (16 << 10) + 2 * 22 * 64 * 1024, `${bytesRead} bytes`);
  });
});

describe('delta spectrum rules', () => {
  const delta = (sv: number[], over: Partial<TensorDelta> = {}): TensorDelta => ({
    tensor: 't',
    releaseShape: [512, 512],
    baseShape: [512, 512],
    commonRows: 512,
    rowsCompared: 512,
    cols: 512,
    identical: false,
    relativeDiff: 0.05,
    cosine: 0.99,
    normBase: 10,
    normDelta: Math.hypot(...sv),
    singularValues: sv,
    nonFinite: 0,
    bytesRead: 0,
    ...over,
  });
  const flat = (n: number, top: number, spread = 1.3): number[] =>
    Array.from({ length: n }, (_, i) => top * (1 - ((spread - 1) / spread) * (i / (n - 1))));

  it('a rank-r update over a flat noise tail gives r; the same with no gap gives none', () => {
    const lora = [50, 40, 33, 30, 22, 18, 15, 12, ...flat(24, 0.9)];
    assert.equal(
      estimateRank(
        lora,
        lora.reduce((s, x) => s + x * x, 0),
      ),
      8,
    );
    assert.equal(estimateRank(flat(32, 1), 32), null);
  });

  it('a decaying (power-law) spectrum is full rank, not a LoRA', () => {
    const power = Array.from({ length: 32 }, (_, i) => 10 / (i + 1));
    assert.equal(classifyDelta(delta(power)).kind, 'full-rank');
  });

  it('a gap holding little of ‖ΔW‖² is not called low-rank', () => {
    const sv = [5, ...flat(31, 1)];
    assert.equal(estimateRank(sv, 10_000), null);
  });

  it('unrelated needs both a relative difference ≥ 1 and no correlation', () => {
    assert.equal(classifyDelta(delta(flat(32, 3), { relativeDiff: 1.41, cosine: 0.01 })).kind, 'unrelated');
    assert.equal(classifyDelta(delta(flat(32, 3), { relativeDiff: 1.41, cosine: 0.8 })).kind, 'full-rank');
    assert.equal(classifyDelta(delta([], { identical: true, relativeDiff: 0 })).kind, 'unchanged');
  });
});
