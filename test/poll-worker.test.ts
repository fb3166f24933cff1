/**
 * The poll worker (workers/poll.worker.ts): its job scheduler fires, the consumer lists a watched author's models on
 * the Hub mirror and accepts the unseen release, which is then enqueued. Waits on QueueEvents, not time.
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
import { createQueues, jobId, QUEUE, redisConnection } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { findRelease } from '../lib/releases.repo.ts';
import { startPollWorker } from '../workers/poll.worker.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

let env: TestEnv;
let pool: Pool;
let queues: Queues;
let events: QueueEvents;
let mirror: HubMirror;
let worker: Worker | null = null;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hw-poll-'));
  mirror = await startHubMirror({ root: join(work, 'store') });
  env = await testEnv({ hubUrl: mirror.url, pollIntervalMs: 1000 });
  pool = createPool(env.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  events = new QueueEvents(QUEUE.poll, { connection: redisConnection(env.cfg.redisUrl), prefix: env.queuePrefix });
  await events.waitUntilReady();
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

test('the scheduled poll accepts a watched author release that no webhook announced, and enqueues it', async () => {
  const dir = join(work, 'rev');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), '{"model_type":"llama"}');
  const { sha, webhookStatus } = await mirror.publish('quiet-org/no-webhook', dir);
  assert.equal(webhookStatus, null);
  const completed = new Promise<unknown>((resolve) =>
    events.on('completed', ({ returnvalue }) => {
      const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as { accepted: number };
      if (r.accepted > 0) resolve(r);
    }),
  );
  worker = await startPollWorker({ pool, queues, cfg: env.cfg, log: silentLog }, ['quiet-org']);
  assert.deepEqual(await completed, { seen: 1, accepted: 1 });
  const release = await findRelease(pool, 'quiet-org/no-webhook', sha);
  assert.equal(release?.source, 'poller');
  assert.equal(release?.status, 'pending');
  assert.ok(await queues.release.getJob(jobId.release(release!.id)), 'the release job is enqueued');
});
