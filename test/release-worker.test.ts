/**
 * The release worker uses BullMQ's failed set as its authors meant: a permanent Hub answer (403) fails the job at
 * once with UnrecoverableError, a transient one (503) is retried until the attempts run out; either way the job ends
 * failed in BullMQ and the release ends `failed` with its reason in Postgres. Waits on QueueEvents, not time.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { QueueEvents } from 'bullmq';
import type { Worker } from 'bullmq';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { createQueues, jobId, QUEUE, redisConnection } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { getRelease, upsertRelease } from '../lib/releases.repo.ts';
import { startReleaseWorker } from '../workers/release.worker.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const LOCKED = 'acme/locked';
const FLAKY = 'acme/flaky';
let env: TestEnv;
let pool: Pool;
let queues: Queues;
let events: QueueEvents;
let mirror: HubMirror;
let worker: Worker;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hw-release-worker-'));
  const dir = join(work, 'rev');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), '{"model_type":"llama"}');
  mirror = await startHubMirror({
    root: join(work, 'store'),
    fault: ({ path }) =>
      path.includes(`/api/models/${LOCKED}`)
        ? { status: 403 }
        : path.includes(`/api/models/${FLAKY}`)
          ? { status: 503, headers: { 'retry-after': '0' } }
          : null,
  });
  await mirror.publish(LOCKED, dir);
  await mirror.publish(FLAKY, dir);
  env = await testEnv({ hubUrl: mirror.url });
  pool = createPool(env.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  events = new QueueEvents(QUEUE.release, { connection: redisConnection(env.cfg.redisUrl), prefix: env.queuePrefix });
  await events.waitUntilReady();
  const deps: PipelineDeps = { pool, queues, cfg: env.cfg, log: silentLog };
  worker = startReleaseWorker(deps);
});
after(async () => {
  await worker?.close();
  await events?.close();
  await queues?.close();
  await pool?.end();
  await env?.cleanup();
  await mirror?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Resolves with the failed reason when BullMQ moves the job to its failed set; rejects if it completes. */
function settled(id: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onFailed = (e: { jobId: string; failedReason: string }): void => {
      if (e.jobId !== id) return;
      off();
      resolve(e.failedReason);
    };
    const onCompleted = (e: { jobId: string }): void => {
      if (e.jobId !== id) return;
      off();
      reject(new Error(`job ${id} completed instead of failing`));
    };
    const off = (): void => {
      events.off('failed', onFailed);
      events.off('completed', onCompleted);
    };
    events.on('failed', onFailed);
    events.on('completed', onCompleted);
  });
}

const modelInfoHits = (repo: string): number =>
  mirror.stats.requests.filter((r) => r.path.includes(`/api/models/${repo}`)).length;

test('a 403 from the Hub fails the job at once (UnrecoverableError) and the release with its reason', async () => {
  const { release } = await upsertRelease(pool, LOCKED, 'b'.repeat(40), 'manual');
  const id = jobId.release(release.id);
  const failed = settled(id);
  await queues.release.add('release', { releaseId: release.id }, { jobId: id });
  assert.match(await failed, /403/);
  const job = await queues.release.getJob(id);
  assert.equal(await job?.getState(), 'failed');
  assert.equal(job?.attemptsMade, 1, 'one attempt out of five');
  assert.equal(modelInfoHits(LOCKED), 1, 'the 403 was not asked again');
  const row = await getRelease(pool, release.id);
  assert.equal(row?.status, 'failed');
  assert.equal(row?.verdict, 'error');
  assert.match(row?.error ?? '', /acme\/locked.*403|403.*acme\/locked/s);
});

test('a Hub answering 503 is retried by the client and by BullMQ, then the job and the release fail', async () => {
  const { release } = await upsertRelease(pool, FLAKY, 'c'.repeat(40), 'manual');
  const id = jobId.release(release.id);
  const failed = settled(id);
  await queues.release.add('release', { releaseId: release.id }, { jobId: id, attempts: 2, backoff: 10 });
  assert.match(await failed, /503/);
  const job = await queues.release.getJob(id);
  assert.equal(await job?.getState(), 'failed');
  assert.equal(job?.attemptsMade, 2);
  assert.equal(modelInfoHits(FLAKY), 10, 'five requests (one plus four retries) per attempt');
  const row = await getRelease(pool, release.id);
  assert.equal(row?.status, 'failed');
  assert.match(row?.error ?? '', /503/);
});
