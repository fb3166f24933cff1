/**
 * Private repos and watch rules against the local Hub mirror: the release worker records that a repo is private
 * (its releases then need the API token to be read), and the poller checks the repos that watch rules name.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { buildApp } from '../services/api/app.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { pollRepos } from '../lib/pipeline/poll.ts';
import { processRelease } from '../lib/pipeline/process-release.ts';
import { createQueues } from '../lib/queues.ts';
import { findRelease, upsertRelease } from '../lib/releases.repo.ts';
import { createWatch, pollTargets } from '../lib/watches.repo.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const CLEAN = 'hubwatch-fixtures/tiny-llama3-clean';
const TOKEN = 'private-read-token';
let env: TestEnv;
let pool: Pool;
let deps: PipelineDeps;
let app: FastifyInstance;
let mirror: HubMirror;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-private-'));
  mirror = await startHubMirror({ root: join(work, 'mirror') });
  buildFixture(fixtureByRepo(CLEAN), -1, join(work, 'clean'));
  env = await testEnv({ apiToken: TOKEN, hubUrl: mirror.url, hfToken: 'hf_mirror' });
  pool = createPool(env.cfg.databaseUrl);
  deps = { pool, queues: createQueues(env.cfg.redisUrl, env.queuePrefix), cfg: env.cfg, log: silentLog };
  app = await buildApp(deps);
});

after(async () => {
  await app.close();
  await deps.queues.close();
  await pool.end();
  await mirror.close();
  await env.cleanup();
  rmSync(work, { recursive: true, force: true });
});

test('a private repo: the worker records it; its model and releases are read only with the token', async () => {
  const repo = 'acme/private-model';
  const { sha } = await mirror.publish(repo, join(work, 'clean'), { private: true });
  const { release } = await upsertRelease(pool, repo, sha, 'manual');
  await processRelease(deps, release.id);
  for (const url of [`/v1/models/${repo}`, `/v1/models/${repo}/releases/${sha}`]) {
    assert.equal((await app.inject(url)).statusCode, 404, `${url} anonymous`);
    const r = await app.inject({ url, headers: { authorization: `BEARER ${TOKEN}` } });
    assert.equal(r.statusCode, 200, `${url} with the token`);
    if (url.endsWith(sha)) assert.ok(r.json().attempt >= 1);
  }
  assert.equal((await app.inject('/v1/models')).json().models.length, 0);

  const pub = 'acme/public-model';
  const p = await mirror.publish(pub, join(work, 'clean'));
  const { release: r2 } = await upsertRelease(pool, pub, p.sha, 'manual');
  await processRelease(deps, r2.id);
  assert.equal((await app.inject(`/v1/models/${pub}`)).statusCode, 200, 'public repos stay public');
});

test('the poller checks the repos and authors that watch rules name', async () => {
  const repo = 'watched/one';
  const { sha } = await mirror.publish(repo, join(work, 'clean'));
  await createWatch(pool, {
    kind: 'repo',
    value: repo,
    slackWebhookUrl: null,
    minSeverity: 'info',
    announceFirstOk: false,
  });
  const targets = await pollTargets(pool);
  assert.deepEqual(targets.repos, [repo]);
  assert.deepEqual(await pollRepos(deps, targets.repos), { seen: 1, accepted: 1 });
  assert.ok(await findRelease(pool, repo, sha));
  assert.deepEqual(await pollRepos(deps, targets.repos), { seen: 1, accepted: 0 }, 'a known commit is not new');
});
