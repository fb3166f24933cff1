/**
 * A recheck over HTTP through the real workers: `POST /v1/releases/:org/:name/:sha/recheck` on a finished release
 * makes a new attempt whose check runs are created, run and finished by the release, check and tensor workers;
 * the API and the release page show that attempt, and the earlier attempt's runs and findings stay in Postgres.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ALL_CHECKS } from '../checks/index.ts';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { startStack } from '../services/processes.ts';
import type { Stack } from '../services/processes.ts';
import { eventually, silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const SECRET = 'recheck-test-secret';
const TOKEN = 'recheck-api-token';
const REPO = 'hubwatch-fixtures/tiny-llama3-base-untrained';

let env: TestEnv;
let stack: Stack;
let mirror: HubMirror;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-recheck-'));
  env = await testEnv({ webhookSecret: SECRET, apiToken: TOKEN });
  mirror = await startHubMirror({ root: join(work, 'mirror') });
  stack = await startStack({ ...env.cfg, hubUrl: mirror.url }, silentLog, { api: true, workers: true, runner: true });
});

after(async () => {
  await stack?.close();
  await mirror?.close();
  await env?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

interface RunRow {
  attempt: number;
  check_id: string;
  status: string;
  finished_at: Date | null;
}

async function runsByAttempt(releaseId: number): Promise<Map<number, RunRow[]>> {
  const rows = (
    await stack.deps.pool.query<RunRow>(
      'SELECT attempt, check_id, status, finished_at FROM check_runs WHERE release_id = $1 ORDER BY id',
      [releaseId],
    )
  ).rows;
  const out = new Map<number, RunRow[]>();
  for (const r of rows) out.set(r.attempt, [...(out.get(r.attempt) ?? []), r]);
  return out;
}

async function finished(sha: string, attempt: number): Promise<{ id: number; verdict: string }> {
  return eventually(
    async () => {
      const r = (
        await stack.deps.pool.query(
          'SELECT id, status, verdict, check_attempt FROM releases WHERE repo = $1 AND sha = $2',
          [REPO, sha],
        )
      ).rows[0];
      return r && r.check_attempt === attempt && (r.status === 'done' || r.status === 'failed') ? r : null;
    },
    90_000,
    `attempt ${attempt} of ${REPO}@${sha}`,
  );
}

test('a recheck runs every check again as a new attempt through the workers; the earlier attempt is kept', async () => {
  const dir = join(work, 'fixture');
  buildFixture(fixtureByRepo(REPO), -1, dir);
  const { sha } = await mirror.publish(REPO, dir);
  const hook = await fetch(`${stack.url}/webhooks/huggingface`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET },
    body: JSON.stringify({
      event: { action: 'create', scope: 'repo' },
      repo: { type: 'model', name: REPO, id: 'x', private: false, headSha: sha, url: { web: '', api: '' } },
      webhook: { id: 'w', version: 3 },
    }),
  });
  assert.equal(hook.status, 202, await hook.text());
  const first = await finished(sha, 1);
  assert.equal(first.verdict, 'critical');
  const firstRuns = (await runsByAttempt(first.id)).get(1) ?? [];
  assert.equal(firstRuns.length, ALL_CHECKS.length, 'one run per check in the first attempt');
  const firstFindings = (
    await stack.deps.pool.query('SELECT code FROM findings WHERE release_id = $1 ORDER BY code', [first.id])
  ).rows.map((r) => r.code);
  assert.ok(firstFindings.includes('EOS_MISMATCH'));

  const url = `${stack.url}/v1/releases/${REPO}/${sha.slice(0, 10)}/recheck`;
  assert.equal((await fetch(url, { method: 'POST' })).status, 401, 'a write needs the token');
  const post = await fetch(url, { method: 'POST', headers: { authorization: `bearer ${TOKEN}` } });
  assert.equal(post.status, 202, await post.clone().text());
  const accepted = await post.json();
  assert.equal(accepted.attempt, 2);
  assert.equal(post.headers.get('location'), accepted.links.self);

  const second = await finished(sha, 2);
  assert.equal(second.id, first.id, 'the same release, checked again');
  assert.equal(second.verdict, 'critical', 'the same content gives the same verdict');
  const runs = await runsByAttempt(first.id);
  assert.deepEqual([...runs.keys()], [1, 2]);
  assert.deepEqual(
    runs.get(1)?.map((r) => [r.check_id, r.status, r.finished_at?.toISOString()]),
    firstRuns.map((r) => [r.check_id, r.status, r.finished_at?.toISOString()]),
    'the first attempt is kept as it was',
  );
  const newRuns = runs.get(2) ?? [];
  assert.deepEqual(newRuns.map((r) => r.check_id).sort(), ALL_CHECKS.map((c) => c.id).sort(), 'every check ran again');
  assert.ok(newRuns.every((r) => !['queued', 'running'].includes(r.status) && r.finished_at !== null));
  const perAttempt = (
    await stack.deps.pool.query(
      `SELECT cr.attempt, array_agg(f.code ORDER BY f.code) AS codes FROM findings f
       JOIN check_runs cr ON cr.id = f.check_run_id WHERE f.release_id = $1 GROUP BY cr.attempt ORDER BY cr.attempt`,
      [first.id],
    )
  ).rows;
  assert.deepEqual(
    perAttempt.map((r) => r.attempt),
    [1, 2],
    'both attempts have their own findings',
  );
  assert.deepEqual(perAttempt[0].codes, firstFindings);
  assert.deepEqual(perAttempt[1].codes, firstFindings);

  // The API shows the new attempt: its runs (their finish times are the second attempt's), its findings.
  const api = await (await fetch(`${stack.url}/v1/models/${REPO}/releases/${sha}`)).json();
  assert.equal(api.attempt, 2);
  assert.equal(api.status, 'done');
  assert.equal(api.verdict, 'critical');
  const times = (rows: { finishedAt?: string; finished_at?: Date | null }[]): string[] =>
    rows.map((r) => r.finishedAt ?? r.finished_at?.toISOString() ?? '').sort();
  assert.deepEqual(times(api.checkRuns), times(newRuns));
  assert.deepEqual(api.findings.map((f: { code: string }) => f.code).sort(), firstFindings);
  const model = await (await fetch(`${stack.url}/v1/models/${REPO}`)).json();
  assert.equal(model.latestRelease.attempt, 2);
  assert.equal(model.verdict, 'critical');

  // The release page: finished (no reload), the attempt named, every check of the new attempt listed.
  const page = await (await fetch(`${stack.url}/models/${REPO}/releases/${sha}`)).text();
  assert.doesNotMatch(page, /http-equiv="refresh"/);
  assert.match(page, /check attempt 2/);
  assert.equal(page.match(/<tr data-check="/g)?.length, ALL_CHECKS.length);
  assert.match(page, /EOS_MISMATCH/);
});
