/**
 * Postgres restarting under the API: while it is down a webhook is answered 503 problem+json with Retry-After (the
 * Hub redelivers), never a 500 and never a hang; when it is back the same app answers 202 again by itself, and
 * every delivery accepted before, during or after is stored and its release enqueued. Runs against a Postgres
 * cluster of its own (initdb in a temp dir, another port) that it stops and starts; the shared one is untouched.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
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
import { startReleaseWorker } from '../workers/release.worker.ts';
import { eventually, silentLog } from './helpers.ts';
import { ownPostgres } from './own-services.ts';
import type { OwnService } from './own-services.ts';

const SECRET = 'pg-restart-secret';
let pg: OwnService;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;
let cfg!: ReturnType<typeof loadConfig>;
const prefix = `hwtest-${randomBytes(4).toString('hex')}`;
const redisUrl = loadConfig({}).redisUrl;

before(async () => {
  pg = await ownPostgres();
  pool = createPool(pg.url);
  await migrate(pool);
  queues = createQueues(redisUrl, prefix);
  cfg = {
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

test('a release worker whose job meets Postgres down retries and finishes the job once it is back', async () => {
  // The Hub answers 404 for everything: once Postgres is back, each release ends `failed` with the Hub's reason.
  const hub = createServer((_req, res) => void res.writeHead(404, { 'content-type': 'application/json' }).end('{}'));
  hub.listen(0, '127.0.0.1');
  await once(hub, 'listening');
  const hubUrl = `http://127.0.0.1:${(hub.address() as { port: number }).port}`;
  const ids = (await pool.query<{ id: string }>('SELECT id FROM releases ORDER BY id')).rows.map((r) => r.id);
  assert.ok(ids.length >= 1);
  let worker: ReturnType<typeof startReleaseWorker> | null = null;
  try {
    await pg.stop();
    worker = startReleaseWorker({ pool, queues, cfg: { ...cfg, hubUrl }, log: silentLog });
    // Every job's first attempt fails on the database and is scheduled again (not failed, not dropped).
    await eventually(
      async () => {
        const jobs = await Promise.all(ids.map((id) => queues.release.getJob(`release-${id}`)));
        return jobs.every((j) => j && j.attemptsMade >= 1 && /ECONNREFUSED/.test(j.failedReason ?? ''));
      },
      20_000,
      'first attempts to fail while Postgres is down',
    );
    await pg.start();
    await eventually(
      async () => {
        const r = await pool.query<{ status: string; error: string | null }>(`SELECT status, error FROM releases`);
        return r.rows.every((x) => x.status === 'failed' && /cannot resolve/.test(x.error ?? ''));
      },
      20_000,
      'releases to end with the Hub answer after the restart',
    );
    // The processor writes the release's end before BullMQ records the attempt's: wait for both.
    await eventually(
      async () => {
        const jobs = await Promise.all(ids.map((id) => queues.release.getJob(`release-${id}`)));
        return jobs.every((j) => (j?.attemptsMade ?? 0) >= 2);
      },
      10_000,
      'each job to have made its second attempt',
    );
  } finally {
    await pg.start();
    await worker?.close();
    hub.closeAllConnections();
    await new Promise((r) => hub.close(r));
  }
});
