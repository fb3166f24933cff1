/** `hubwatch scan DIR --base DIR --backend torch|cpu --json`, run as a user runs it, on the fingerprint fixtures. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BASE_FIXTURES, LORA_RANK, writeFingerprintBase } from '../infra/fixtures/weights/base-fixtures.ts';

let work: string;

function hubwatch(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['bin/hubwatch.mjs', ...args],
      { maxBuffer: 64 << 20, env: { ...process.env, HUBWATCH_LOG_LEVEL: 'silent', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

type Report = {
  findings: { code: string; check: string; evidence: Record<string, unknown> }[];
  checks: { check: string; status: string; evidence?: Record<string, unknown> }[];
};

before(() => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-fp-cli-'));
  writeFingerprintBase(join(work, 'base'));
  for (const fx of BASE_FIXTURES) fx.write(join(work, fx.name), 'local/base');
});

after(() => rmSync(work, { recursive: true, force: true }));

for (const fx of BASE_FIXTURES) {
  test(`${fx.name}: --backend torch and --backend cpu give the same codes, with ${fx.code ?? 'no fingerprint finding'}`, async () => {
    const reports: Record<string, Report> = {};
    for (const backend of ['torch', 'cpu']) {
      const r = await hubwatch([
        'scan',
        join(work, fx.name),
        '--base',
        join(work, 'base'),
        '--backend',
        backend,
        '--json',
      ]);
      assert.ok(r.code === 0 || r.code === 1, `${backend}: exit ${r.code}: ${r.stderr.slice(-500)}`);
      reports[backend] = JSON.parse(r.stdout) as Report;
    }
    const codes = (r: Report) => r.findings.map((f) => f.code).sort();
    assert.deepEqual(codes(reports.torch), codes(reports.cpu));
    const fp = (r: Report) => r.findings.filter((f) => f.check === 'base-fingerprint');
    assert.deepEqual(
      fp(reports.torch).map((f) => f.code),
      fx.code ? [fx.code] : [],
    );
    for (const [backend, r] of Object.entries(reports))
      for (const f of fp(r)) {
        assert.equal(f.evidence.backend, backend === 'torch' ? 'torch' : f.evidence.backend);
        if (f.code === 'LOW_RANK_DELTA') assert.ok(Math.abs((f.evidence.rank as number) - LORA_RANK) <= 1);
      }
    if (!fx.code)
      for (const r of Object.values(reports)) {
        // An ordinary fine-tune: no finding, and what was measured is still reported.
        const row = r.checks.find((c) => c.check === 'base-fingerprint')!;
        assert.equal(row.status, 'passed');
        const tensors = row.evidence?.tensors as { relativeDiff: number }[] | undefined;
        assert.ok(tensors?.length, 'the passed fingerprint keeps its per-tensor evidence');
        assert.ok(tensors.every((t) => t.relativeDiff > 0 && t.relativeDiff < 0.5));
      }
  });
}

test('--backend torch without a Python that has torch: exit 2 and a message naming what to install', async () => {
  const r = await hubwatch(['scan', join(work, 'merged-lora'), '--base', join(work, 'base'), '--backend', 'torch'], {
    HUBWATCH_PYTHON: '/nonexistent/python3',
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /python3-torch/);
  assert.match(r.stderr, /HUBWATCH_PYTHON/);
});

test('--backend with an unknown name is a usage error', async () => {
  const r = await hubwatch(['scan', join(work, 'base'), '--backend', 'gpu']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--backend must be one of cpu, torch, auto/);
});
