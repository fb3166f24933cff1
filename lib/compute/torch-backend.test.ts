/**
 * The torch backend for real (the project's set-up installs a CPU PyTorch; infra/ensure-torch.sh): the same row
 * statistics and findings as the CPU backend on every weight fixture, the same fingerprint codes, and clear errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCheck } from '../../checks/run-check.ts';
import type { RowStats } from '../../checks/types.ts';
import { tokenMatrices } from '../../checks/weights/tensor-names.ts';
import { untrainedTokens } from '../../checks/weights/untrained-tokens.ts';
import { BASE_FIXTURES, writeFingerprintBase } from '../../infra/fixtures/weights/base-fixtures.ts';
import { assertFingerprint, fingerprintFolders } from '../../infra/fixtures/weights/fingerprint-run.ts';
import { WEIGHT_FIXTURES, writeWeightFixture } from '../../infra/fixtures/weights/untrained-fixtures.ts';
import { LocalFolderSource } from '../local-source.ts';
import { buildSnapshot } from '../snapshot-builder.ts';
import { createTensorStatsProvider } from '../tensor-stats.ts';
import type { ComputeBackend } from './backend.ts';
import { CpuBackend } from './cpu-backend.ts';
import { TorchBackend } from './torch-backend.ts';
import { TorchUnavailableError } from './torch-python.ts';

/** A lease of the shared worker that close() leaves running. */
const kept = (b: ComputeBackend): ComputeBackend => ({
  name: b.name,
  device: b.device,
  rowStats: (j) => b.rowStats(j),
  openDelta: (s) => b.openDelta(s),
  close: async () => {},
});

function close(a: number, b: number, what: string): void {
  if (Number.isNaN(a) && Number.isNaN(b)) return;
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1e-3, Math.abs(a)), `${what}: ${a} vs ${b}`);
}

function assertSameStats(cpu: RowStats, torch: RowStats): void {
  assert.equal(torch.rows, cpu.rows);
  assert.deepEqual(torch.roundedHash, cpu.roundedHash, `${cpu.tensor}: row fingerprints`);
  assert.deepEqual(torch.max, cpu.max, `${cpu.tensor}: max`);
  assert.deepEqual(torch.absMax, cpu.absMax, `${cpu.tensor}: absMax`);
  assert.deepEqual(torch.nonFinite, cpu.nonFinite, `${cpu.tensor}: non-finite rows`);
  for (let r = 0; r < cpu.rows; r++) {
    close(cpu.norm[r], torch.norm[r], `${cpu.tensor} norm[${r}]`);
    close(cpu.mean[r], torch.mean[r], `${cpu.tensor} mean[${r}]`);
  }
}

describe('torch backend (real Python worker)', () => {
  let torch: TorchBackend;
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'hubwatch-torch-'));
    torch = await TorchBackend.start();
  });
  after(async () => {
    await torch?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('reports its device and torch version', () => {
    assert.match(torch.device, /^(cpu|cuda:\d+ \(.+\))$/);
    assert.match(torch.torchVersion, /^\d+\.\d+/);
  });

  for (const fx of WEIGHT_FIXTURES) {
    it(`${fx.name}: the same statistics and findings as the CPU backend`, async () => {
      const dir = join(root, fx.name);
      writeWeightFixture(dir, fx);
      const source = new LocalFolderSource(dir);
      const snapshot = await buildSnapshot(source, { repo: 'f/w', sha: 'local' }, { maxFileBytes: 64 << 20 });
      const cpu = createTensorStatsProvider(source, snapshot, { threads: 1 });
      const viaTorch = createTensorStatsProvider(source, snapshot, { backend: kept(torch) });
      try {
        const m = tokenMatrices(snapshot);
        for (const t of [m.embedding, m.lmHead].filter((x) => x !== null))
          assertSameStats(await cpu.rowStats(t), await viaTorch.rowStats(t));
        const a = await runCheck(untrainedTokens, { release: snapshot, tensors: cpu });
        const b = await runCheck(untrainedTokens, { release: snapshot, tensors: viaTorch });
        assert.equal(b.status, a.status);
        assert.deepEqual(
          b.findings.map((f) => [f.code, f.severity, f.title, f.evidence.ids]),
          a.findings.map((f) => [f.code, f.severity, f.title, f.evidence.ids]),
        );
      } finally {
        await cpu.close();
        await viaTorch.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('gives the fingerprint codes the CPU backend gives, with a LoRA rank within ±1, on every base fixture', async () => {
    writeFingerprintBase(join(root, 'base'));
    const cpu = new CpuBackend(0);
    try {
      for (const fx of BASE_FIXTURES) {
        const dir = join(root, fx.name);
        fx.write(dir, 'local/base');
        const t = await fingerprintFolders(dir, join(root, 'base'), kept(torch));
        const c = await fingerprintFolders(dir, join(root, 'base'), cpu);
        assertFingerprint(fx, t.result);
        assert.deepEqual(
          t.result.findings.map((f) => f.code),
          c.result.findings.map((f) => f.code),
        );
        assert.equal(t.bytesRead, c.bytesRead, 'the same ranges read');
        for (const f of t.result.findings) assert.equal(f.evidence.backend, 'torch');
      }
    } finally {
      await cpu.close();
    }
  });

  it('a python without torch is a start-up error naming what to install, not a fallback', async () => {
    await assert.rejects(
      TorchBackend.start({ python: '/nonexistent/python3' }),
      (e: Error) =>
        e instanceof TorchUnavailableError && /HUBWATCH_PYTHON/.test(e.message) && /python3-torch/.test(e.message),
    );
  });

  it('rejects work after close', async () => {
    const t = await TorchBackend.start();
    await t.close();
    await assert.rejects(t.rowStats({ data: new Uint8Array(32), dtype: 'BF16', rows: 2, cols: 8 }), /closed/);
  });
});
