/**
 * Security of the HTTP surface against the real Postgres and Redis: the webhook secret (exact, never logged or
 * echoed), payloads that used to give 500s, body limits, security headers, rate limits and trustProxy.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { loadConfig } from '../lib/config.ts';
import type { Config } from '../lib/config.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createLogger } from '../lib/logger.ts';
import { storablePayload } from '../lib/pipeline/webhook-payload.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { buildApp } from '../services/api/app.ts';
import { secretMatches } from '../services/api/routes/webhook.ts';
import { testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const SECRET = 'wh-secret-3f9a7c1e55';
const TOKEN = 'api-token-b81d0c7e42';
let env: TestEnv;
let pool: Pool;
let queues: Queues;
const logs: string[] = [];
const apps: FastifyInstance[] = [];

/** An app over the suite's database whose logs (level debug: every request, webhooks included) are captured in `logs`. */
async function app(overrides: Partial<Config> = {}): Promise<FastifyInstance> {
  const log = createLogger('debug', 'security-test', { write: (s: string) => void logs.push(s) });
  const a = await buildApp({ pool, queues, cfg: { ...env.cfg, ...overrides }, log });
  apps.push(a);
  return a;
}

before(async () => {
  env = await testEnv({ webhookSecret: SECRET, apiToken: TOKEN });
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
});

// Each test's apps are closed after it: every app's outbox listens for the shared queues' errors, and eleven at once
// made Node warn of a listener leak.
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

after(async () => {
  for (const a of apps) await a.close();
  await queues.close();
  await pool.end();
  await env.cleanup();
});

const deliveries = async (): Promise<number> =>
  (await pool.query('SELECT count(*)::int AS n FROM webhook_deliveries')).rows[0].n;

const payload = (name = 'acme/widget', sha = 'c'.repeat(40)): Record<string, unknown> => ({
  event: { action: 'create', scope: 'repo' },
  repo: { type: 'model', name, id: '1', private: false, headSha: sha },
  webhook: { id: 'wh1', version: 3 },
});

describe('webhook secret', () => {
  test('compared exactly: a trailing space, a prefix, another case are refused and nothing is stored', async () => {
    const a = await app();
    const before = await deliveries();
    for (const secret of [`${SECRET} `, SECRET.slice(0, -1), SECRET.toUpperCase(), ` ${SECRET}`]) {
      const r = await a.inject({
        method: 'POST',
        url: `/webhooks/huggingface?secret=${encodeURIComponent(secret)}`,
        payload: payload(),
      });
      assert.equal(r.statusCode, 401, JSON.stringify(secret));
    }
    assert.equal(await deliveries(), before);
    assert.equal(secretMatches(SECRET, SECRET), true);
    assert.equal(secretMatches(`${SECRET} `, SECRET), false);
    // HTTP strips whitespace around header values (RFC 9110 §5.5), so a secret with one could never be matched.
    assert.throws(() => loadConfig({ HUBWATCH_WEBHOOK_SECRET: `${SECRET} ` }), /HUBWATCH_WEBHOOK_SECRET/);
  });

  test('never logged nor echoed: ?secret= is redacted in request logs and in problem bodies', async () => {
    const a = await app();
    logs.length = 0;
    const wrong = 'guess-0123456789abcdef';
    const bad = await a.inject({ method: 'POST', url: `/webhooks/huggingface?secret=${wrong}`, payload: payload() });
    assert.equal(bad.statusCode, 401);
    assert.ok(!bad.body.includes(wrong), bad.body);
    assert.equal(bad.json().instance, '/webhooks/huggingface?secret=[redacted]');
    const ok = await a.inject({ method: 'POST', url: `/webhooks/huggingface?secret=${SECRET}`, payload: payload() });
    assert.equal(ok.statusCode, 202);
    const hdr = await a.inject({
      method: 'POST',
      url: '/webhooks/huggingface',
      headers: { 'x-webhook-secret': SECRET },
      payload: payload(),
    });
    assert.equal(hdr.statusCode, 202);
    const text = logs.join('');
    assert.match(text, /incoming request/, 'request logging is on, so the check below means something');
    assert.match(text, /secret=\[redacted\]/);
    for (const s of [SECRET, wrong]) assert.ok(!text.includes(s), `${s} appears in the logs`);
  });
});

describe('payloads that passed the secret are stored, never a 500', () => {
  const post = async (a: FastifyInstance, body: string) =>
    a.inject({
      method: 'POST',
      url: '/webhooks/huggingface',
      headers: { 'x-webhook-secret': SECRET, 'content-type': 'application/json' },
      payload: body,
    });
  const cases: [string, string, number][] = [
    ['a NUL in a string', JSON.stringify({ ...payload(), note: 'a\u0000b' }), 202],
    ['a NUL in the scope', JSON.stringify({ ...payload(), event: { scope: 're\u0000po', action: 'create' } }), 202],
    [
      'a lone surrogate',
      `{"event":{"scope":"repo","action":"create"},"repo":{"type":"model","name":"x/\\ud800"}}`,
      202,
    ],
    ['JSON nested 10k deep', `{"event":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, 400],
    ['a repo name of 300 kB', JSON.stringify(payload(`acme/${'w'.repeat(300_000)}`)), 400],
  ];
  for (const [what, body, status] of cases) {
    test(what, async () => {
      const a = await app();
      const before = await deliveries();
      const r = await post(a, body);
      assert.equal(r.statusCode, status, r.body);
      assert.ok(r.json().deliveryId > 0);
      assert.equal(await deliveries(), before + 1);
      const row = (
        await pool.query('SELECT payload::text AS p, outcome, reason FROM webhook_deliveries WHERE id = $1', [
          r.json().deliveryId,
        ])
      ).rows[0];
      assert.ok(row.p.length < 200_000, `stored ${row.p.length} chars`);
      if (status === 400) assert.match(row.reason, /^invalid payload/);
    });
  }

  test('property: the stored copy of any JSON value, lone surrogates and NUL included, is accepted by jsonb', async () => {
    const values = fc.sample(fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 }), { numRuns: 300, seed: 11 });
    values.push('\u0000', { '\ud800': ['\udfff', 'a\u0000'] });
    for (const v of values) await pool.query('SELECT $1::jsonb', [JSON.stringify(storablePayload({ v }))]);
  });

  test('bodies over the limit are 413 problem+json and not stored', async () => {
    const a = await app();
    const before = await deliveries();
    const r = await post(a, JSON.stringify({ ...payload(), pad: 'x'.repeat(1_100_000) }));
    assert.equal(r.statusCode, 413);
    assert.match(String(r.headers['content-type']), /problem\+json/);
    assert.equal(await deliveries(), before);
  });
});

test('a malformed cursor is a 400 problem, not a 500', async () => {
  const a = await app();
  for (const cursor of ['AA', '%00', 'x'.repeat(5000)]) {
    const r = await a.inject({ method: 'GET', url: `/v1/models?cursor=${cursor}` });
    assert.equal(r.statusCode, 400, cursor.slice(0, 10));
    assert.match(String(r.headers['content-type']), /problem\+json/);
  }
});

describe('security headers', () => {
  test('pages and API carry a strict CSP, nosniff, a referrer policy and frame-ancestors none', async () => {
    const a = await app();
    for (const url of ['/', '/v1/models', '/webhooks/huggingface']) {
      const r = await a.inject({ method: 'GET', url });
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.match(csp, /default-src 'none'/, url);
      const script = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
      assert.equal(script, "'self'", url);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(r.headers['referrer-policy'], 'strict-origin-when-cross-origin', url);
    }
  });
});

describe('rate limits and trustProxy', () => {
  const scan = (a: FastifyInstance, token: string, ip?: string) =>
    a.inject({
      method: 'POST',
      url: '/v1/scans',
      headers: { authorization: `Bearer ${token}`, ...(ip ? { 'x-forwarded-for': ip } : {}) },
      payload: { repo: 'acme/widget' },
    });

  test('after N wrong bearer tokens every request of that address is 429 problem+json', async () => {
    const a = await app({ authFailureLimit: 5 });
    for (let i = 0; i < 5; i++) assert.equal((await scan(a, `wrong-${i}`)).statusCode, 401);
    const r = await scan(a, TOKEN);
    assert.equal(r.statusCode, 429);
    assert.match(String(r.headers['content-type']), /problem\+json/);
    assert.ok(Number(r.headers['retry-after']) > 0);
    const hook = await a.inject({ method: 'POST', url: `/webhooks/huggingface?secret=${SECRET}`, payload: payload() });
    assert.equal(hook.statusCode, 429, 'the webhook is behind the same lock');
  });

  test('wrong webhook secrets count too', async () => {
    const a = await app({ authFailureLimit: 3 });
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await a.inject({ method: 'POST', url: '/webhooks/huggingface', payload: payload() })).statusCode,
        401,
      );
    const r = await a.inject({ method: 'POST', url: `/webhooks/huggingface?secret=${SECRET}`, payload: payload() });
    assert.equal(r.statusCode, 429);
  });

  test('the per-address request limit answers 429 problem+json', async () => {
    const a = await app({ rateLimitMax: 3 });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await a.inject({ method: 'GET', url: '/healthz' })).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 429]);
  });

  test('X-Forwarded-For is ignored unless HUBWATCH_TRUST_PROXY names the proxy', async () => {
    const untrusting = await app({ authFailureLimit: 2 });
    for (let i = 0; i < 2; i++) assert.equal((await scan(untrusting, 'wrong', `10.0.0.${i}`)).statusCode, 401);
    assert.equal((await scan(untrusting, 'wrong', '10.0.0.99')).statusCode, 429, 'a forged address resets nothing');
    const trusting = await app({
      authFailureLimit: 2,
      trustProxy: loadConfig({ HUBWATCH_TRUST_PROXY: '127.0.0.1' }).trustProxy,
    });
    for (let i = 0; i < 2; i++) assert.equal((await scan(trusting, 'wrong', '10.0.1.1')).statusCode, 401);
    assert.equal((await scan(trusting, 'wrong', '10.0.1.1')).statusCode, 429);
    assert.equal((await scan(trusting, 'wrong', '10.0.1.2')).statusCode, 401, 'another client behind the proxy');
    assert.deepEqual(loadConfig({}).trustProxy, false);
    assert.throws(() => loadConfig({ HUBWATCH_TRUST_PROXY: 'evil.example' }), /HUBWATCH_TRUST_PROXY/);
  });
});
