/** API writes: watch rules, audited mutes that leave verdicts, rechecks as new attempts; metrics, readiness, ETag. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../services/api/app.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { createPool, withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { finishRelease, upsertRelease } from '../lib/releases.repo.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const TOKEN = 'write-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const SHA = '1'.repeat(40);
let env: TestEnv;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;

before(async () => {
  env = await testEnv({ apiToken: TOKEN, publicUrl: 'http://hw.test' });
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  app = await buildApp({ pool, queues, cfg: env.cfg, log: silentLog });
  const { release } = await upsertRelease(pool, 'acme/model', SHA, 'webhook');
  const [run] = await createCheckRuns(pool, release.id, [{ id: 'pad-eq-eos', queue: 'checks' }]);
  await withTransaction(pool, async (c) => {
    await storeResult(c, run, {
      check: 'pad-eq-eos',
      status: 'findings',
      durationMs: 300,
      findings: [
        {
          code: 'PAD_EQ_EOS',
          severity: 'warning',
          check: 'pad-eq-eos',
          title: 't',
          detail: 'd',
          evidence: {},
          files: [],
        },
      ],
    });
    await finishRelease(c, release.id, 'warning');
  });
});

after(async () => {
  await app.close();
  await queues.close();
  await pool.end();
  await env.cleanup();
});

const json = (
  method: 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = auth,
) => app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });

describe('watch rules', () => {
  test('CRUD with the token; Location on 201; the Slack URL never shown whole; duplicates 409', async () => {
    assert.equal((await app.inject('/v1/watches')).statusCode, 401, 'reads need the token: rules hold Slack URLs');
    const url = 'https://hooks.slack.example/services/T000/B000/abcdefgh1234';
    const created = await json('POST', '/v1/watches', {
      author: 'acme',
      slackWebhookUrl: url,
      minSeverity: 'critical',
    });
    assert.equal(created.statusCode, 201, created.body);
    const w = created.json();
    assert.equal(created.headers.location, `http://hw.test/v1/watches/${w.id}`);
    assert.equal(w.author, 'acme');
    assert.equal(w.minSeverity, 'critical');
    assert.equal(w.slackWebhookUrl, 'https://hooks.slack.example/…1234');
    assert.doesNotMatch(created.body, /abcdefgh/);
    assert.equal((await json('POST', '/v1/watches', { author: 'acme', slackWebhookUrl: url })).statusCode, 409);
    assert.equal((await json('POST', '/v1/watches', { author: 'a', repo: 'a/b' })).statusCode, 400);
    assert.equal((await json('POST', '/v1/watches', { slackWebhookUrl: url })).statusCode, 400);
    assert.equal((await json('POST', '/v1/watches', { repo: 'acme/x', minSeverity: 'loud' })).statusCode, 400);
    const second = (await json('POST', '/v1/watches', { repo: 'acme/model', announceFirstOk: true })).json();
    const list = (await app.inject({ url: '/v1/watches', headers: auth })).json();
    assert.deepEqual(
      list.watches.map((x: { id: number }) => x.id),
      [second.id, w.id],
      'newest first',
    );
    const patched = await json('PATCH', `/v1/watches/${w.id}`, { minSeverity: 'warning', slackWebhookUrl: null });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().minSeverity, 'warning');
    assert.equal(patched.json().slackWebhookUrl, null);
    assert.equal(patched.json().author, 'acme', 'untouched fields stay');
    assert.equal((await json('DELETE', `/v1/watches/${second.id}`)).statusCode, 204);
    assert.equal((await app.inject({ url: `/v1/watches/${second.id}`, headers: auth })).statusCode, 404);
    assert.equal((await json('DELETE', `/v1/watches/${w.id}`, undefined, {})).statusCode, 401);
  });
});

describe('mutes', () => {
  test('a mute leaves the finding visible as muted, takes it out of the verdict, and is audited', async () => {
    const body = {
      scope: 'model',
      target: 'acme/model',
      code: 'PAD_EQ_EOS',
      reason: 'intended: no pad token',
      by: 'ana',
    };
    assert.equal((await json('POST', '/v1/mutes', body, {})).statusCode, 401);
    const bad = await json('POST', '/v1/mutes', { ...body, code: 'NOPE' });
    assert.equal(bad.statusCode, 400);
    assert.ok(bad.json().allowedValues.includes('PAD_EQ_EOS'));
    assert.equal((await json('POST', '/v1/mutes', { ...body, target: 'acme' })).statusCode, 400);
    const created = await json('POST', '/v1/mutes', body);
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    assert.equal(created.headers.location, `http://hw.test/v1/mutes/${id}`);
    assert.equal((await json('POST', '/v1/mutes', body)).statusCode, 409);

    const rel = (await app.inject(`/v1/models/acme/model/releases/${SHA}`)).json();
    assert.equal(rel.findings[0].muted, true);
    assert.equal(rel.findings[0].muteId, id);
    assert.equal(rel.verdict, 'ok', 'the muted warning no longer counts');
    assert.equal((await app.inject('/v1/models/acme/model')).json().verdict, 'ok');

    const lifted = await app.inject({
      method: 'DELETE',
      url: `/v1/mutes/${id}?by=bo&reason=fixed%20upstream`,
      headers: auth,
    });
    assert.equal(lifted.statusCode, 200, lifted.body);
    assert.equal(lifted.json().active, false);
    assert.deepEqual(
      lifted.json().events.map((e: { action: string; actor: string }) => `${e.action} ${e.actor}`),
      ['created ana', 'deleted bo'],
    );
    assert.equal((await app.inject('/v1/models/acme/model')).json().verdict, 'warning', 'lifting restores it');
    assert.equal((await app.inject('/v1/mutes')).json().mutes.length, 0, 'active mutes only by default');
    assert.equal((await app.inject('/v1/mutes?all=true')).json().mutes.length, 1, 'the lifted one is kept');
  });
});

describe('recheck', () => {
  test('a new attempt: 202 with Location, a release job, earlier check runs kept; 409 while it runs', async () => {
    const url = `/v1/releases/acme/model/${SHA.slice(0, 8)}/recheck`;
    assert.equal((await json('POST', url, undefined, {})).statusCode, 401);
    assert.equal((await json('POST', '/v1/releases/acme/none/1234567/recheck')).statusCode, 404);
    const r = await json('POST', url);
    assert.equal(r.statusCode, 202, r.body);
    assert.equal(r.json().attempt, 2);
    assert.equal(r.headers.location, `http://hw.test/v1/models/acme/model/releases/${SHA}`);
    const job = await queues.release.getJob(
      `release-${(await pool.query('SELECT id FROM releases')).rows[0].id}-attempt2`,
    );
    assert.ok(job, 'the release worker is asked to check it again');
    const rel = (await app.inject(`/v1/models/acme/model/releases/${SHA}`)).json();
    assert.equal(rel.status, 'pending');
    assert.equal(rel.attempt, 2);
    assert.deepEqual(rel.checkRuns, [], 'the new attempt has no runs yet');
    const kept = await pool.query('SELECT attempt, status FROM check_runs');
    assert.deepEqual(kept.rows, [{ attempt: 1, status: 'findings' }]);
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM findings')).rows[0].n, 1, 'old findings kept');
    assert.equal((await json('POST', url)).statusCode, 409);
  });
});

describe('operations', () => {
  test('/metrics is Prometheus text with queue depths, check durations and webhook outcomes', async () => {
    const r = await app.inject('/metrics');
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^# TYPE hubwatch_queue_jobs gauge$/m);
    assert.match(r.body, /^hubwatch_queue_jobs\{queue="release",state="waiting"\} 1$/m);
    assert.match(r.body, /^hubwatch_check_duration_seconds_bucket\{check="pad-eq-eos",le="0.25"\} 0$/m);
    assert.match(r.body, /^hubwatch_check_duration_seconds_bucket\{check="pad-eq-eos",le="0.5"\} 1$/m);
    assert.match(r.body, /^hubwatch_check_duration_seconds_sum\{check="pad-eq-eos"\} 0.3$/m);
    assert.match(r.body, /^# TYPE hubwatch_webhook_deliveries_total counter$/m);
  });

  test('/readyz answers for Postgres and Redis; 503 naming the one that is down', async () => {
    const ok = await app.inject('/readyz');
    assert.deepEqual(ok.json(), { status: 'ok', postgres: 'ok', redis: 'ok' });
    const deadPool = createPool('postgres://postgres@127.0.0.1:1/none');
    const dead = await buildApp({ pool: deadPool, queues, cfg: env.cfg, log: silentLog });
    try {
      const r = await dead.inject('/readyz');
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().postgres, 'down');
      assert.equal(r.json().redis, 'ok');
    } finally {
      await dead.close();
      await deadPool.end();
    }
  });

  test('GET answers carry a weak ETag; If-None-Match gets 304 with no body until it changes', async () => {
    const first = await app.inject('/v1/models/acme/model');
    const etag = first.headers.etag as string;
    assert.match(etag, /^W\/"[\w-]+"$/);
    const again = await app.inject({ url: '/v1/models/acme/model', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    const other = await app.inject({ url: '/v1/models/acme/model', headers: { 'if-none-match': 'W/"old"' } });
    assert.equal(other.statusCode, 200);
  });
});
