/** The API for tooling: OpenAPI, links, pagination, errors, findings search, watches, mutes, recheck, metrics, ETag. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../services/api/app.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { createPool, withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { finishRelease, setModelPrivate, upsertRelease } from '../lib/releases.repo.ts';
import type { Severity } from '../checks/types.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const TOKEN = 'api-token-for-tests';
let env: TestEnv;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;
const auth = { authorization: `Bearer ${TOKEN}` };
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

before(async () => {
  env = await testEnv({ apiToken: TOKEN, publicUrl: 'http://hw.test', hubUrl: 'http://hub.test' });
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  app = await buildApp({ pool, queues, cfg: env.cfg, log: silentLog });
  await release('acme/one', A, [
    ['EOS_MISMATCH', 'critical'],
    ['PAD_EQ_EOS', 'info'],
  ]);
  await release('acme/two', B, [['PAD_EQ_EOS', 'warning']]);
  await release('secret/hidden', C, [['EOS_MISMATCH', 'critical']]);
  await setModelPrivate(pool, 'secret/hidden', true);
});

after(async () => {
  await app.close();
  await queues.close();
  await pool.end();
  await env.cleanup();
});

/** A finished release of `repo` with one finding per [code, severity]; returns its id. */
async function release(repo: string, sha: string, findings: [string, Severity][]): Promise<number> {
  const { release: r } = await upsertRelease(pool, repo, sha, 'manual');
  const runs = await createCheckRuns(pool, r.id, [{ id: 'eos-vs-template', queue: 'checks' }]);
  await withTransaction(pool, async (c) => {
    await storeResult(c, runs[0], {
      check: 'eos-vs-template',
      status: findings.length ? 'findings' : 'passed',
      durationMs: 120,
      findings: findings.map(([code, severity]) => ({
        code: code as 'EOS_MISMATCH',
        severity,
        check: 'eos-vs-template',
        title: `${code} title`,
        detail: 'd',
        evidence: { n: 1 },
        files: ['tokenizer_config.json'],
      })),
    });
    const worst = findings.some(([, s]) => s === 'critical') ? 'critical' : findings.length ? 'warning' : 'ok';
    await finishRelease(c, r.id, worst);
  });
  return r.id;
}

describe('OpenAPI and docs', () => {
  test('/openapi.json is OpenAPI 3 with every /v1 route and its parameters; /docs serves the UI', async () => {
    const r = await app.inject('/openapi.json');
    assert.equal(r.statusCode, 200);
    const doc = r.json();
    assert.match(doc.openapi, /^3\./);
    for (const p of [
      '/v1/models',
      '/v1/models/{org}/{name}',
      '/v1/models/{org}/{name}/releases/{sha}',
      '/v1/findings',
      '/v1/watches',
      '/v1/watches/{id}',
      '/v1/mutes',
      '/v1/mutes/{id}',
      '/v1/releases/{org}/{name}/{sha}/recheck',
      '/v1/scans',
      '/v1/checks',
      '/metrics',
      '/readyz',
    ])
      assert.ok(doc.paths[p], `${p} documented`);
    const codeParam = doc.paths['/v1/findings'].get.parameters.find((x: { name: string }) => x.name === 'code');
    assert.ok(codeParam.schema.enum.includes('EOS_MISMATCH'), 'codes are an enum in the document');
    assert.ok(doc.paths['/v1/watches'].post.requestBody, 'bodies documented');
    const ui = await app.inject('/docs/');
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger/i);
  });
});

describe('models and releases', () => {
  test('links {self, page, hub}; lists newest first; private models need the token', async () => {
    const list = await app.inject('/v1/models');
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      list.json().models.map((m: { repo: string }) => m.repo),
      ['acme/two', 'acme/one'],
      'most recently updated first, the private model left out',
    );
    assert.deepEqual(list.json().models[0].links, {
      self: 'http://hw.test/v1/models/acme/two',
      page: 'http://hw.test/models/acme/two',
      hub: 'http://hub.test/acme/two',
    });
    const withToken = await app.inject({ url: '/v1/models', headers: auth });
    assert.equal(withToken.json().models.length, 3);
    assert.equal((await app.inject('/v1/models/secret/hidden')).statusCode, 404);
    assert.equal((await app.inject(`/v1/models/secret/hidden/releases/${C}`)).statusCode, 404);
    const lower = await app.inject({
      url: `/v1/models/secret/hidden/releases/${C}`,
      headers: { authorization: `bearer ${TOKEN}` },
    });
    assert.equal(lower.statusCode, 200, 'the Bearer scheme is case-insensitive');
    assert.equal(lower.json().links.page, `http://hw.test/models/secret/hidden/releases/${C}`);
    assert.equal(lower.json().links.hub, `http://hub.test/secret/hidden/commit/${C}`);
    const wrong = await app.inject({ url: '/v1/models', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401, 'a wrong token is refused, not read as anonymous');
  });

  test('cursor pagination walks every model once; a bad cursor is 400 naming what is allowed', async () => {
    const seen: string[] = [];
    let url: string | null = '/v1/models?limit=1';
    while (url) {
      const r: { statusCode: number; json(): unknown } = await app.inject({ url, headers: auth });
      assert.equal(r.statusCode, 200);
      const body = r.json() as { models: { repo: string }[]; nextCursor: string | null; links: { next?: string } };
      seen.push(...body.models.map((m) => m.repo));
      url = body.links.next ? new URL(body.links.next).pathname + new URL(body.links.next).search : null;
      assert.equal(Boolean(body.nextCursor), Boolean(url));
    }
    assert.deepEqual(seen.sort(), ['acme/one', 'acme/two', 'secret/hidden']);
    for (const cursor of ['!!!', 'bW9kZWxzOmFiYw', Buffer.from('findings:3').toString('base64url')]) {
      const bad = await app.inject(`/v1/models?cursor=${cursor}`);
      assert.equal(bad.statusCode, 400, cursor);
      assert.match(bad.headers['content-type'] as string, /problem\+json/);
      assert.match(bad.json().allowedValues[0], /nextCursor/);
    }
  });

  test('unknown codes and verdicts are 400 problem+json listing the allowed values; wrong method 405', async () => {
    const r = await app.inject('/v1/models?code=NOT_A_CODE');
    assert.equal(r.statusCode, 400);
    assert.match(r.headers['content-type'] as string, /problem\+json/);
    assert.ok(r.json().allowedValues.includes('EOS_MISMATCH'));
    assert.match(r.json().detail, /must be one of: .*EOS_MISMATCH/);
    const v = await app.inject('/v1/models?verdict=bad');
    assert.deepEqual(v.json().allowedValues, ['critical', 'warning', 'ok', 'error']);
    const m = await app.inject({ method: 'DELETE', url: '/v1/models/acme/one' });
    assert.equal(m.statusCode, 405);
    assert.match(m.headers.allow as string, /GET/);
    assert.match(m.headers['content-type'] as string, /problem\+json/);
    assert.equal((await app.inject({ method: 'PUT', url: '/v1/findings' })).statusCode, 405);
    assert.equal((await app.inject('/v1/nothing-here')).statusCode, 404);
  });
});

describe('GET /v1/findings', () => {
  test('filters by code, severity, check and since; newest first; private ones only with the token', async () => {
    const all = (await app.inject('/v1/findings')).json().findings;
    assert.deepEqual(
      all.map((f: { repo: string; code: string }) => `${f.repo} ${f.code}`),
      ['acme/two PAD_EQ_EOS', 'acme/one PAD_EQ_EOS', 'acme/one EOS_MISMATCH'],
    );
    const crit = (await app.inject({ url: '/v1/findings?severity=critical', headers: auth })).json().findings;
    assert.deepEqual(crit.map((f: { repo: string }) => f.repo).sort(), ['acme/one', 'secret/hidden']);
    const code = (await app.inject('/v1/findings?code=PAD_EQ_EOS&severity=warning')).json().findings;
    assert.deepEqual(
      code.map((f: { repo: string }) => f.repo),
      ['acme/two'],
    );
    assert.equal((await app.inject('/v1/findings?check=eos-vs-template')).json().findings.length, 3);
    assert.equal((await app.inject('/v1/findings?check=nope')).statusCode, 400);
    const future = new Date(Date.now() + 60_000).toISOString();
    assert.equal((await app.inject(`/v1/findings?since=${future}`)).json().findings.length, 0);
    assert.equal((await app.inject('/v1/findings?since=yesterday')).statusCode, 400);
    const page = (await app.inject('/v1/findings?limit=2')).json();
    assert.equal(page.findings.length, 2);
    const rest = (await app.inject(`/v1/findings?limit=2&cursor=${page.nextCursor}`)).json();
    assert.deepEqual(
      rest.findings.map((f: { code: string }) => f.code),
      ['EOS_MISMATCH'],
    );
    assert.equal(rest.nextCursor, null);
  });
});
