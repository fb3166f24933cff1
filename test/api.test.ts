import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../services/api/app.ts';
import { withTransaction } from '../lib/db.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { finishRelease, upsertRelease } from '../lib/releases.repo.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const SECRET = 'test-secret-value';
let env: TestEnv;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;

before(async () => {
  env = await testEnv({ webhookSecret: SECRET });
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  app = await buildApp({ pool, queues, cfg: env.cfg, log: silentLog });
});

after(async () => {
  await app.close();
  await queues.close();
  await pool.end();
  await env.cleanup();
});

const payload = (sha: string) => ({
  event: { action: 'create', scope: 'repo' },
  repo: {
    type: 'model',
    name: 'acme/widget',
    id: '1',
    private: false,
    headSha: sha,
    url: { web: 'x', api: 'y' },
    owner: { id: 'o' },
  },
  webhook: { id: 'wh1', version: 3 },
});

const count = async (table: string): Promise<number> =>
  (await pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

describe('webhook endpoint', () => {
  test('missing or wrong secret: 401 problem+json, nothing stored', async () => {
    for (const headers of [{}, { 'x-webhook-secret': 'nope' }, { 'x-webhook-secret': SECRET + 'x' }]) {
      const r = await app.inject({
        method: 'POST',
        url: '/webhooks/huggingface',
        headers,
        payload: payload('c'.repeat(40)),
      });
      assert.equal(r.statusCode, 401);
      assert.match(r.headers['content-type'] as string, /application\/problem\+json/);
      assert.equal(r.json().status, 401);
    }
    assert.equal(await count('webhook_deliveries'), 0);
    assert.equal(await count('releases'), 0);
  });

  test('a body that is not a JSON object is a 4xx problem', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/webhooks/huggingface',
      headers: { 'x-webhook-secret': SECRET, 'content-type': 'application/json' },
      payload: '{"broken',
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.headers['content-type'] as string, /problem\+json/);
    const arr = await app.inject({
      method: 'POST',
      url: '/webhooks/huggingface',
      headers: { 'x-webhook-secret': SECRET },
      payload: [1, 2],
    });
    assert.equal(arr.statusCode, 400);
  });

  test('the same delivery five times: one release, five stored deliveries, one job', async () => {
    const sha = 'd'.repeat(40);
    const outcomes = [];
    for (let i = 0; i < 5; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/webhooks/huggingface',
        headers: { 'x-webhook-secret': SECRET },
        payload: payload(sha),
      });
      assert.equal(r.statusCode, 202);
      outcomes.push(r.json().outcome);
    }
    assert.deepEqual(outcomes, ['release', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM releases WHERE sha = $1', [sha])).rows[0].n, 1);
    assert.equal(
      (await pool.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE sha = $1', [sha])).rows[0].n,
      5,
    );
    // The request only stores; the outbox loop enqueues (drained here so the count does not race it).
    await app.outbox?.drain();
    assert.equal(await queues.release.count(), 1);
  });

  test('the secret may come as ?secret= as the Hub allows', async () => {
    const r = await app.inject({
      method: 'POST',
      url: `/webhooks/huggingface?secret=${SECRET}`,
      payload: { event: { scope: 'discussion', action: 'create' }, repo: { type: 'model', name: 'acme/widget' } },
    });
    assert.equal(r.statusCode, 202);
    assert.equal(r.json().outcome, 'ignored');
  });
});

describe('when Postgres is down', () => {
  test('a webhook is refused with 503 + Retry-After (so the Hub redelivers), never accepted and lost', async () => {
    const deadPool = createPool('postgres://postgres@127.0.0.1:1/nothing');
    const dead = await buildApp({ pool: deadPool, queues, cfg: env.cfg, log: silentLog });
    try {
      const r = await dead.inject({
        method: 'POST',
        url: '/webhooks/huggingface',
        headers: { 'x-webhook-secret': SECRET },
        payload: payload('7'.repeat(40)),
      });
      assert.equal(r.statusCode, 503);
      assert.equal(r.headers['retry-after'], '5');
      assert.match(r.headers['content-type'] as string, /problem\+json/);
      const h = await dead.inject('/healthz');
      assert.equal(h.statusCode, 503);
    } finally {
      await dead.close();
      await deadPool.end();
    }
  });
});

describe('REST and pages', () => {
  test('unknown model: 404 problem+json; malformed names: 400', async () => {
    const r = await app.inject('/v1/models/acme/unknown');
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().title, 'Not Found');
    const bad = await app.inject('/v1/models/acme/bad%20name');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.headers['content-type'] as string, /problem\+json/);
    const sha = await app.inject('/v1/models/acme/widget/releases/NOTASHA');
    assert.equal(sha.statusCode, 400);
    const route = await app.inject('/v2/nothing');
    assert.equal(route.statusCode, 404);
    assert.match(route.headers['content-type'] as string, /problem\+json/);
  });

  test('a release with findings over the API and the page, repo strings escaped', async () => {
    const sha = 'e'.repeat(40);
    const { release } = await upsertRelease(pool, 'acme/evil', sha, 'manual');
    const [run] = await createCheckRuns(pool, release.id, [{ id: 'eos-vs-template', queue: 'checks' }]);
    await withTransaction(pool, async (c) => {
      await storeResult(c, run, {
        check: 'eos-vs-template',
        status: 'findings',
        durationMs: 3,
        findings: [
          {
            code: 'EOS_MISMATCH',
            severity: 'critical',
            check: 'eos-vs-template',
            title: 'ends with <script>alert(1)</script>',
            detail: 'd & "q"',
            evidence: { token: '<img src=x onerror=alert(1)>' },
            files: ['tokenizer_config.json'],
          },
        ],
      });
      await finishRelease(c, release.id, 'critical');
    });
    const m = await app.inject('/v1/models/acme/evil');
    assert.equal(m.statusCode, 200);
    assert.equal(m.json().verdict, 'critical');
    assert.equal(m.json().releases[0].sha, sha);
    const r = await app.inject(`/v1/models/acme/evil/releases/${sha.slice(0, 10)}`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().findings[0].code, 'EOS_MISMATCH');
    assert.equal(r.json().checkRuns[0].status, 'findings');
    const page = await app.inject('/models/acme/evil');
    assert.equal(page.statusCode, 200);
    assert.doesNotMatch(page.body, /<script>alert/);
    assert.doesNotMatch(page.body, /<img src=x/);
    assert.match(page.body, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
    assert.match(page.body, /data-verdict="critical"/);
    const list = await app.inject('/v1/models?verdict=critical&code=EOS_MISMATCH');
    assert.deepEqual(
      list.json().models.map((x: { repo: string }) => x.repo),
      ['acme/evil'],
    );
  });
});
