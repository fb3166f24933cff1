/**
 * Webhooks while Redis is down: every delivery is stored and answered 202 without touching Redis; once Redis is
 * back the outbox loop enqueues each release exactly once. Runs against a redis-server of its own that it stops
 * and starts (the shared Redis is untouched).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createLogger } from '../lib/logger.ts';
import { outboxSize } from '../lib/outbox.repo.ts';
import { createQueues, QUEUE, redisConnection } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { buildApp } from '../services/api/app.ts';
import { eventually, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';
import { ownRedis } from './own-services.ts';
import type { OwnService } from './own-services.ts';

const SECRET = 'outbox-test-secret';
let redis: OwnService;
let env: TestEnv;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;
const logLines: { level: number; msg: string; outbox?: string; component?: string }[] = [];

before(async () => {
  redis = await ownRedis();
  env = await testEnv({ webhookSecret: SECRET, redisUrl: redis.url });
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  const log = createLogger('info', 'hubwatch', { write: (s: string) => void logLines.push(JSON.parse(s)) });
  app = await buildApp({
    pool,
    queues,
    cfg: env.cfg,
    log,
    outbox: { intervalMs: 50, maxBackoffMs: 200, enqueueTimeoutMs: 500 },
  });
  await app.ready();
});

after(async () => {
  await app?.close();
  await queues?.close();
  await pool?.end();
  await env?.cleanup();
  await redis?.close();
});

const delivery = (i: number) => ({
  event: { action: 'create', scope: 'repo' },
  repo: {
    type: 'model',
    name: `acme/model-${i}`,
    id: String(i),
    private: false,
    headSha: i.toString(16).padStart(40, 'a'),
  },
  webhook: { id: 'wh', version: 3 },
});

test('100 deliveries while Redis is down: all 202 and stored; once it is back each release is enqueued once', async () => {
  const processed = new Map<number, number>();
  const worker = new Worker(
    QUEUE.release,
    async (job) => void processed.set(job.data.releaseId, (processed.get(job.data.releaseId) ?? 0) + 1),
    { connection: redisConnection(redis.url), prefix: env.queuePrefix, concurrency: 20 },
  );
  worker.on('error', () => undefined);
  try {
    await worker.waitUntilReady();
    await redis.stop();

    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/webhooks/huggingface',
          headers: { 'x-webhook-secret': SECRET },
          payload: delivery(i),
        }),
      ),
    );
    assert.deepEqual(
      replies.map((r) => [r.statusCode, r.json().outcome]),
      replies.map(() => [202, 'release']),
    );
    // Five replays of already stored deliveries: duplicates, nothing new for the outbox.
    for (let i = 0; i < 5; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/webhooks/huggingface',
        headers: { 'x-webhook-secret': SECRET },
        payload: delivery(i),
      });
      assert.equal(r.json().outcome, 'duplicate');
    }
    const stored = await pool.query(
      `SELECT count(*)::int AS deliveries, count(DISTINCT release_id)::int AS releases FROM webhook_deliveries`,
    );
    assert.deepEqual(stored.rows[0], { deliveries: 105, releases: 100 });
    assert.equal(await outboxSize(pool), 100);
    await eventually(async () => app.outbox?.state === 'redis-unavailable', 10_000, 'outbox to see Redis down');
    assert.equal(processed.size, 0);
    await redis.start();
    await eventually(async () => processed.size === 100, 20_000, '100 release jobs processed');
    await eventually(async () => (await outboxSize(pool)) === 0, 10_000, 'outbox emptied');
    // A further pass finds nothing, and nothing ran twice.
    assert.equal(await app.outbox?.drain(), 0);
    await eventually(
      async () => (await queues.release.getJobCounts('waiting', 'active', 'delayed')).waiting === 0,
      10_000,
      'release queue idle',
    );
    assert.deepEqual([...new Set(processed.values())], [1]);
    const ids = (await pool.query<{ id: string }>('SELECT id FROM releases ORDER BY id')).rows.map((r) => Number(r.id));
    assert.deepEqual(
      [...processed.keys()].sort((a, b) => a - b),
      ids,
    );

    // One line per state change, not one per delivery: down, then up. (A loaded machine may see one more
    // down/up pair while the restarted Redis is slow to answer the first enqueues; never a line per delivery.)
    const states = logLines.filter((l) => l.component === 'outbox').map((l) => l.outbox);
    assert.equal(states[0], 'redis-unavailable', states.join(', '));
    assert.equal(states.at(-1), 'ok', states.join(', '));
    assert.ok(
      states.every((x, i) => i === 0 || x !== states[i - 1]),
      `only changes are logged: ${states.join(', ')}`,
    );
    assert.ok(states.length <= 4, `a few state changes, not one per delivery: ${states.join(', ')}`);
  } finally {
    await redis.start(); // a worker cannot close against a Redis that is down
    await worker.close();
  }
});

test('50 concurrent copies of a new delivery: one release, one outbox row, 50 stored deliveries', async () => {
  const body = delivery(1000);
  const replies = await Promise.all(
    Array.from({ length: 50 }, () =>
      app.inject({
        method: 'POST',
        url: '/webhooks/huggingface',
        headers: { 'x-webhook-secret': SECRET },
        payload: body,
      }),
    ),
  );
  const outcomes = replies.map((r) => `${r.statusCode} ${r.json().outcome}`).sort();
  assert.deepEqual(outcomes, ['202 release', ...Array(49).fill('202 duplicate')].sort());
  const releaseIds = new Set(replies.map((r) => r.json().releaseId));
  assert.equal(releaseIds.size, 1);
  const rows = await pool.query(
    `SELECT count(*)::int AS n, count(DISTINCT release_id)::int AS releases FROM webhook_deliveries WHERE repo = $1`,
    [body.repo.name],
  );
  assert.deepEqual(rows.rows[0], { n: 50, releases: 1 });
  await app.outbox?.drain();
  const job = await queues.release.getJob(`release-${[...releaseIds][0]}`);
  assert.ok(job, 'the release job is enqueued');
});
