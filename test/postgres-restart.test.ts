/**
 * Postgres restarting under the API: while it is down a webhook is answered 503 problem+json with Retry-After (the
 * Hub redelivers), never a 500 and never a hang; when it is back the same app answers 202 again by itself, and
 * every delivery accepted before, during or after is stored and its release enqueued. Runs against a Postgres
 * cluster of its own (initdb in a temp dir, another port) that it stops and starts; the shared one is untouched.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../lib/config.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { migrate } from '../lib/migrate.ts';
import { createQueues, QUEUE, redisConnection } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { buildApp } from '../services/api/app.ts';
import { eventually, silentLog } from './helpers.ts';
import { ownPostgres } from './own-services.ts';
import type { OwnService } from './own-services.ts';

const SECRET = 'pg-restart-secret';
let pg: OwnService;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;
const prefix = `hwtest-${randomBytes(4).toString('hex')}`;
const redisUrl = loadConfig({}).redisUrl;

before(async () => {
  pg = await ownPostgres();
  pool = createPool(pg.url);
  await migrate(pool);
  queues = createQueues(redisUrl, prefix);
  const cfg = {
    ...loadConfig({}),
    databaseUrl: pg.url,
    queuePrefix: prefix,
    webhookSecret: SECRET,
    logLevel: 'silent',
  };
  app = await buildApp({
    pool,
    queues,
    cfg,
    log: silentLog,
    outbox: { intervalMs: 50, maxBackoffMs: 200, enqueueTimeoutMs: 1000 },
  });
  await app.ready();
});

after(async () => {
  await app?.close();
  await queues?.close();
  await pool?.end();
  for (const q of Object.values(QUEUE)) {
    const queue = new Queue(q, { connection: redisConnection(redisUrl), prefix });
    await queue.obliterate({ force: true });
    await queue.close();
  }
  await pg?.close();
});

const deliver = (i: number) =>
  app.inject({
    method: 'POST',
    url: '/webhooks/huggingface',
    headers: { 'x-webhook-secret': SECRET },
    payload: {
      event: { action: 'create', scope: 'repo' },
      repo: { type: 'model', name: `acme/restart-${i}`, id: String(i), private: false, headSha: String(i).repeat(40) },
    },
  });

test('Postgres stopped and started: 503 problem+json while down, 202 again after, nothing accepted lost', async () => {
  const before = await deliver(1);
  assert.equal(before.statusCode, 202);

  await pg.stop();
  const down = await deliver(2);
  assert.equal(down.statusCode, 503, down.body);
  assert.match(down.headers['content-type'] as string, /application\/problem\+json/);
  assert.equal(down.headers['retry-after'], '5');
  assert.equal(down.json().status, 503);
  const health = await app.inject('/healthz');
  assert.equal(health.statusCode, 503);
  const read = await app.inject('/v1/models');
  assert.equal(read.statusCode, 503, read.body);
  // The outbox loop notices (one state change) and backs off instead of failing per delivery.
  await eventually(async () => app.outbox?.state === 'postgres-unavailable', 10_000, 'outbox to see Postgres down');

  await pg.start();
  // The Hub redelivers the refused delivery; the same app and pool take it without a restart.
  const redelivered = await deliver(2);
  assert.equal(redelivered.statusCode, 202, redelivered.body);
  assert.equal(redelivered.json().outcome, 'release');
  const afterRestart = await deliver(3);
  assert.equal(afterRestart.statusCode, 202);
  await eventually(async () => app.outbox?.state === 'ok', 10_000, 'outbox to recover');

  await app.outbox?.drain();
  const releases = (await pool.query<{ id: string }>('SELECT id FROM releases ORDER BY id')).rows.map((r) => r.id);
  assert.equal(releases.length, 3);
  const delivered = (await pool.query('SELECT count(*)::int AS n FROM webhook_deliveries')).rows[0].n;
  assert.equal(delivered, 3, 'the refused delivery was not stored; each accepted one was');
  for (const id of releases) assert.ok(await queues.release.getJob(`release-${id}`), `release ${id} enqueued`);
});
