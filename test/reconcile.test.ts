/**
 * Nothing stuck: a job BullMQ fails without running hubwatch's code (stalled past its limit, the way two SIGKILLs of
 * its worker leave it) is recovered from Postgres state, a release whose check runs all ended gets its verdict, and
 * after the allowed attempts the release (or check run) ends with the reason. Real Postgres, Redis and BullMQ.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { ALL_CHECKS } from '../checks/index.ts';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { createCheckRuns } from '../lib/check-runs.repo.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { reconcile } from '../lib/pipeline/reconcile.ts';
import { createQueues, jobId, QUEUE, redisConnection } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { getRelease, markChecking, upsertRelease } from '../lib/releases.repo.ts';
import { startCheckWorker } from '../workers/check.worker.ts';
import { startReleaseWorker } from '../workers/release.worker.ts';
import { eventually, silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const CLEAN = 'hubwatch-fixtures/tiny-llama3-clean';
const STALLED = 'job stalled more than allowable limit';

let env: TestEnv;
let pool: Pool;
let queues: Queues;
let redis: Redis;
let mirror: HubMirror;
let deps: PipelineDeps;
let work: string;
let sha: string;
let workers: Worker[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hw-reconcile-'));
  mirror = await startHubMirror({ root: join(work, 'store') });
  const dir = join(work, 'rev');
  buildFixture(fixtureByRepo(CLEAN), -1, dir);
  sha = (await mirror.publish(CLEAN, dir)).sha;
  env = await testEnv({ hubUrl: mirror.url, jobLockMs: 2000, reconcileMaxAttempts: 3 });
  pool = createPool(env.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  redis = new Redis(env.cfg.redisUrl);
  deps = { pool, queues, cfg: env.cfg, log: silentLog };
});
afterEach(async () => {
  await Promise.all(workers.map((w) => w.close()));
  workers = [];
});
after(async () => {
  await queues?.close();
  redis?.disconnect();
  await pool?.end();
  await env?.cleanup();
  await mirror?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A manual worker (no processor, no lock renewal), like a worker process that took the job and then died. */
function manualWorker(queue: string): Worker {
  return new Worker(queue, null, {
    connection: redisConnection(env.cfg.redisUrl),
    prefix: env.queuePrefix,
    autorun: false,
    maxStalledCount: 1,
  });
}

/** One run of BullMQ's stalled checker, as if `stalledInterval` had passed since the last one (its throttle key gone). */
async function stalledCheck(w: Worker, queue: string): Promise<void> {
  await redis.del(`${env.queuePrefix}:${queue}:stalled-check`);
  await (w as unknown as { moveStalledJobsToWait(): Promise<void> }).moveStalledJobsToWait();
}

/**
 * Takes the job twice with a worker that dies each time (its lock expires: deleted here), running BullMQ's own
 * stalled checker in between: the second stall is past maxStalledCount 1, so BullMQ marks the job to fail
 * ("job stalled more than allowable limit") when a worker next takes it, without running its processor.
 */
async function stallTwice(queue: string, id: string): Promise<void> {
  const w = manualWorker(queue);
  try {
    for (let i = 0; i < 2; i++) {
      const job = await w.getNextJob(`dead-worker-${i}`, { block: false });
      assert.equal(job?.id, id, 'the dead worker took the job');
      await stalledCheck(w, queue); // marks the active job as possibly stalled
      await redis.del(`${env.queuePrefix}:${queue}:${id}:lock`); // the dead worker's lock expired
      await stalledCheck(w, queue); // stalled: back to waiting
      assert.equal(await (await queues.release.getJob(id))?.getState(), 'waiting');
    }
    assert.equal((await queues.release.getJob(id))?.deferredFailure, STALLED);
  } finally {
    await w.close();
  }
}

/** Takes the job and fails it through BullMQ's API, as the stalled checker would, without running our code. */
async function failAsStalled(queue: string, id: string): Promise<void> {
  const w = manualWorker(queue);
  try {
    const job = await w.getNextJob('dead-worker', { block: false });
    assert.equal(job?.id, id);
    await job.moveToFailed(new UnrecoverableError(STALLED), 'dead-worker', false);
    assert.equal(await job.getState(), 'failed');
  } finally {
    await w.close();
  }
}

function failedEvent(queue: string, id: string): { events: QueueEvents; failed: Promise<string> } {
  const events = new QueueEvents(queue, { connection: redisConnection(env.cfg.redisUrl), prefix: env.queuePrefix });
  const failed = new Promise<string>((resolve) =>
    events.on('failed', (e) => {
      if (e.jobId === id) resolve(e.failedReason);
    }),
  );
  return { events, failed };
}

function startAll(): void {
  workers.push(
    startReleaseWorker(deps),
    startCheckWorker(deps, QUEUE.checks),
    startCheckWorker(deps, QUEUE.tensor, {}, 1),
  );
}

async function finished(releaseId: number) {
  return eventually(
    async () => {
      const r = await getRelease(pool, releaseId);
      return r && (r.status === 'done' || r.status === 'failed') ? r : null;
    },
    30_000,
    `release ${releaseId} finished`,
  );
}

async function assertOneCompleteSet(releaseId: number): Promise<void> {
  const runs = (
    await pool.query<{ check_id: string; status: string }>(
      'SELECT check_id, status FROM check_runs WHERE release_id = $1',
      [releaseId],
    )
  ).rows;
  assert.deepEqual(runs.map((r) => r.check_id).sort(), ALL_CHECKS.map((c) => c.id).sort(), 'one run per check');
  assert.ok(
    runs.every((r) => !['queued', 'running'].includes(r.status)),
    'every run ended',
  );
  const dup = await pool.query(
    `SELECT check_run_id, code, title, count(*) FROM findings WHERE release_id = $1
     GROUP BY check_run_id, code, title, detail HAVING count(*) > 1`,
    [releaseId],
  );
  assert.equal(dup.rowCount, 0, 'no duplicate findings');
}

test('a release job stalled past the limit is failed by BullMQ without our code; the failed event re-enqueues it and the release gets its verdict', async (t) => {
  const { release } = await upsertRelease(pool, CLEAN, sha, 'manual');
  const id = jobId.release(release.id);
  await queues.release.add('release', { releaseId: release.id }, { jobId: id });
  await stallTwice(QUEUE.release, id);
  const { events, failed } = failedEvent(QUEUE.release, id);
  t.after(() => events.close());
  await events.waitUntilReady();
  startAll(); // the next worker to take the job fails it with the deferred reason
  assert.equal(await failed, STALLED);
  const r = await finished(release.id);
  assert.equal(r.status, 'done', r.error ?? '');
  assert.equal(r.verdict, 'ok');
  const row = (await pool.query('SELECT requeues FROM releases WHERE id = $1', [release.id])).rows[0];
  assert.equal(row.requeues, 1, 're-enqueued once, by the failed event');
  await assertOneCompleteSet(release.id);
});

test('a job failed as stalled each time is re-enqueued by the reconciler, then given up with the reason after 3 attempts', async () => {
  const { release } = await upsertRelease(pool, CLEAN, 'd'.repeat(40), 'manual');
  const id = jobId.release(release.id);
  await queues.release.add('release', { releaseId: release.id }, { jobId: id });
  for (let attempt = 1; attempt <= 3; attempt++) {
    await failAsStalled(QUEUE.release, id);
    const pass = await reconcile(deps, 0);
    if (attempt < 3) {
      assert.equal(pass.releases, 1, `attempt ${attempt}: the failed job removed and added again`);
      assert.equal(await (await queues.release.getJob(id))?.getState(), 'waiting');
      assert.equal((await getRelease(pool, release.id))?.status, 'pending');
    } else assert.equal(pass.gaveUp, 1);
  }
  const r = await getRelease(pool, release.id);
  assert.equal(r?.status, 'failed');
  assert.equal(r?.verdict, 'error');
  assert.equal(r?.error, `gave up after 3 attempts: ${STALLED}`);
  assert.deepEqual(await reconcile(deps, 0), { releases: 0, checkRuns: 0, gaveUp: 0, finalized: 0 }, 'nothing left');
});

test('a reconcile pass leaves live jobs and young rows alone', async () => {
  const { release } = await upsertRelease(pool, CLEAN, 'e'.repeat(40), 'manual');
  const id = jobId.release(release.id);
  await queues.release.add('release', { releaseId: release.id }, { jobId: id });
  assert.equal((await reconcile(deps, 0)).releases, 0, 'a waiting job is live');
  await queues.release.remove(id);
  assert.equal((await reconcile(deps, 60_000)).releases, 0, 'younger than the grace period');
  assert.equal((await reconcile(deps, 0)).releases, 1, 'a missing job is added again');
  assert.equal(await (await queues.release.getJob(id))?.getState(), 'waiting');
  await queues.release.remove(id);
  await pool.query(`UPDATE releases SET status = 'done', verdict = 'ok' WHERE id = $1`, [release.id]);
});

test('a check run whose job is lost is given up as error after the attempts, and its release gets a verdict', async () => {
  const { release } = await upsertRelease(pool, CLEAN, 'f'.repeat(40), 'manual');
  const snap = await pool.query<{ id: string }>(
    `INSERT INTO snapshots (repo, sha, meta) VALUES ($1, $2, '{}') RETURNING id`,
    [CLEAN, 'f'.repeat(40)],
  );
  await markChecking(pool, release.id, Number(snap.rows[0].id), null, null);
  const runs = await createCheckRuns(pool, release.id, [
    { id: 'alpha', queue: 'checks' },
    { id: 'beta', queue: 'tensor' },
  ]);
  // alpha ended; beta's job never reached Redis (or was evicted).
  await pool.query(`UPDATE check_runs SET status = 'passed', finished_at = now() WHERE id = $1`, [runs[0].id]);
  const lowCfg = { ...deps, cfg: { ...deps.cfg, reconcileMaxAttempts: 2 } };
  assert.equal((await reconcile(lowCfg, 0)).checkRuns, 1);
  const job = await queues.tensor.getJob(jobId.check(runs[1].id));
  assert.equal(await job?.getState(), 'waiting');
  await queues.tensor.remove(jobId.check(runs[1].id)); // lost again
  assert.equal((await reconcile(lowCfg, 0)).gaveUp, 1);
  const beta = (await pool.query('SELECT status, error FROM check_runs WHERE id = $1', [runs[1].id])).rows[0];
  assert.equal(beta.status, 'error');
  assert.equal(beta.error, 'gave up after 2 attempts: job missing from the queue');
  const r = await getRelease(pool, release.id);
  assert.equal(r?.status, 'done');
  assert.equal(r?.verdict, 'error');
});

test('a release whose check runs all ended while the last job died is finalized by the reconciler', async () => {
  const { release } = await upsertRelease(pool, CLEAN, '1'.repeat(40), 'manual');
  const snap = await pool.query<{ id: string }>(
    `INSERT INTO snapshots (repo, sha, meta) VALUES ($1, $2, '{}') RETURNING id`,
    [CLEAN, '1'.repeat(40)],
  );
  await markChecking(pool, release.id, Number(snap.rows[0].id), null, null);
  await createCheckRuns(pool, release.id, [{ id: 'alpha', queue: 'checks' }]);
  await pool.query(`UPDATE check_runs SET status = 'passed', finished_at = now() WHERE release_id = $1`, [release.id]);
  assert.equal((await getRelease(pool, release.id))?.status, 'checking');
  assert.equal((await reconcile(deps, 0)).finalized, 1);
  const r = await getRelease(pool, release.id);
  assert.equal(r?.status, 'done');
  assert.equal(r?.verdict, 'ok');
  assert.equal(await (await queues.notify.getJob(jobId.notify(release.id)))?.getState(), 'waiting');
});
