/** `hubwatch scan` run the way a user runs it: as a child process of `node bin/hubwatch.mjs`. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';

const BUGGY = 'hubwatch-fixtures/tiny-llama3-base-untrained';
const CLEAN = 'hubwatch-fixtures/tiny-llama3-clean';
let work: string;
let mirror: HubMirror;

function hubwatch(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/hubwatch.mjs', ...args],
      { maxBuffer: 64 << 20, env: { ...process.env, HUBWATCH_LOG_LEVEL: 'silent' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-cli-'));
  mirror = await startHubMirror({ root: join(work, 'mirror') });
  for (const repo of [BUGGY, CLEAN]) {
    buildFixture(fixtureByRepo(repo), -1, join(work, repo.split('/')[1]));
    await mirror.publish(repo, join(work, repo.split('/')[1]));
  }
});

after(async () => {
  await mirror.close();
  rmSync(work, { recursive: true, force: true });
});

const key = (f: { code: string; severity: string; check: string; title: string }) =>
  `${f.check}|${f.code}|${f.severity}|${f.title}`;

test('scan --json of a buggy folder: critical, exit 1, the report shape', async () => {
  const r = await hubwatch(['scan', join(work, 'tiny-llama3-base-untrained'), '--json']);
  assert.equal(r.code, 1, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(rep).sort(), ['checks', 'findings', 'repo', 'sha', 'verdict']);
  assert.equal(rep.verdict, 'critical');
  for (const code of fixtureByRepo(BUGGY).expectedCodes)
    assert.ok(
      rep.findings.some((f: { code: string }) => f.code === code),
      code,
    );
  for (const f of rep.findings)
    for (const k of ['code', 'severity', 'check', 'title', 'detail', 'evidence']) assert.ok(k in f, `finding has ${k}`);
  assert.ok(!r.stderr.includes('\r') && !r.stderr.includes(`${String.fromCharCode(27)}[`), 'no progress bar off a TTY');
});

test('the same release scanned from a folder and from the mirror gives the same findings', async () => {
  const local = JSON.parse((await hubwatch(['scan', join(work, 'tiny-llama3-base-untrained'), '--json'])).stdout);
  const remote = await hubwatch(['scan', BUGGY, '--json', '--hub-url', mirror.url]);
  assert.equal(remote.code, 1, remote.stderr);
  const rep = JSON.parse(remote.stdout);
  assert.equal(rep.repo, BUGGY);
  assert.match(rep.sha, /^[0-9a-f]{40}$/);
  assert.deepEqual(rep.findings.map(key).sort(), local.findings.map(key).sort());
  assert.deepEqual(
    rep.checks.map((c: { check: string; status: string }) => `${c.check}:${c.status}`),
    local.checks.map((c: { check: string; status: string }) => `${c.check}:${c.status}`),
  );
});

test('a clean release exits 0; a revision can be named with @', async () => {
  const r = await hubwatch(['scan', `${CLEAN}@main`, '--hub-url', mirror.url]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /: OK/);
});

test('a folder with only some files scans what is there and reports the rest as skipped', async () => {
  const dir = join(work, 'partial');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', vocab_size: 10 }));
  const r = await hubwatch(['scan', dir, '--json', '--no-weights']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.ok(rep.checks.some((c: { status: string; reason?: string }) => c.status === 'skipped' && c.reason));
  assert.ok(rep.checks.every((c: { status: string }) => c.status !== 'error'));
});

test('a malformed config.json is a finding, not a crash', async () => {
  const dir = join(work, 'malformed');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), '{"model_type": "llama",');
  const r = await hubwatch(['scan', dir, '--json']);
  const rep = JSON.parse(r.stdout);
  assert.ok(
    rep.findings.some(
      (f: { code: string; files: string[] }) => f.code === 'FILE_MALFORMED' && f.files.includes('config.json'),
    ),
  );
  assert.equal(r.code, 1);
});

test('a 2 GB tokenizer.json is not read: FILE_TOO_LARGE, tokenizer checks skipped', async () => {
  const dir = join(work, 'huge');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama' }));
  // A sparse file: 2 GB by its size, no disk used. The snapshot must decide from the size alone.
  writeFileSync(join(dir, 'tokenizer.json'), '');
  truncateSync(join(dir, 'tokenizer.json'), 2 * 1024 ** 3);
  const r = await hubwatch(['scan', dir, '--json']);
  const rep = JSON.parse(r.stdout);
  const f = rep.findings.find((x: { code: string }) => x.code === 'FILE_TOO_LARGE');
  assert.ok(f, r.stdout);
  assert.deepEqual(f.files, ['tokenizer.json']);
  assert.equal(r.code, 0);
});

test('a folder with only tokenizer and config files gets the tokenizer findings', async () => {
  const dir = join(work, 'tokenizer-only');
  buildFixture(fixtureByRepo('hubwatch-fixtures/mistral-tokenizer-mismatch'), -1, dir);
  const r = await hubwatch(['scan', dir, '--json']);
  const rep = JSON.parse(r.stdout);
  assert.equal(r.code, 1, r.stderr);
  const f = rep.findings.find((x: { code: string }) => x.code === 'TOKENIZER_FAST_SLOW_MISMATCH');
  assert.ok(f, JSON.stringify(rep.findings.map((x: { code: string }) => x.code)));
  assert.ok(f.files.includes('tokenizer.json') && f.files.includes('tokenizer.model'), f.files.join());
  const weights = rep.checks.find((c: { check: string }) => c.check === 'untrained-tokens');
  assert.equal(weights.status, 'skipped');
  assert.equal(rep.checks.find((c: { check: string }) => c.check === 'config-vs-weights').status, 'skipped');
});

test('usage and I/O errors exit 2', async () => {
  assert.equal((await hubwatch(['scan'])).code, 2);
  assert.equal((await hubwatch(['scan', 'a', 'b'])).code, 2);
  assert.equal((await hubwatch(['scan', '--bogus', 'x/y'])).code, 2);
  const missing = await hubwatch(['scan', 'nobody/nothing', '--hub-url', mirror.url]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nobody\/nothing/);
  assert.equal((await hubwatch(['frobnicate'])).code, 2);
});
