/**
 * The response cache of the read routes (services/api/plugins/response-cache.ts) against a real Postgres: answers
 * are served again only while no change has been notified (migration 0010's triggers, lib/change-feed.ts), a write
 * through the API is read back at once, a lost listening connection turns the cache off until it listens again, the
 * token's answers never reach anonymous callers, and entries expire and are evicted. ResponseCache's own rule (a
 * miss that raced a change is not stored) is tested on the class with a feed whose generation the test moves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { encodeCursor } from '../lib/cursor.ts';
import { NOTIFYING_TABLES } from '../lib/change-feed.ts';
import type { ChangeFeed, NotifyingTable } from '../lib/change-feed.ts';
import { createPool, withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { finishRelease, upsertRelease } from '../lib/releases.repo.ts';
import { buildApp } from '../services/api/app.ts';
import { ResponseCache } from '../services/api/plugins/response-cache.ts';
import { eventually, recordQueries, silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const TOKEN = 'cache-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let env: TestEnv;
let pool: Pool;
let queues: Queues;
const apps: FastifyInstance[] = [];
const SHA = 'c'.repeat(40);

async function app(
  overrides: { apiCacheTtlMs?: number; retryMs?: number; heartbeatMs?: number } = {},
): Promise<FastifyInstance> {
  const a = await buildApp({
    pool,
    queues,
    cfg: { ...env.cfg, apiCacheTtlMs: overrides.apiCacheTtlMs ?? env.cfg.apiCacheTtlMs },
    log: silentLog,
    changeFeed: {
      retryMs: overrides.retryMs ?? 50,
      maxRetryMs: overrides.retryMs ?? 50,
      heartbeatMs: overrides.heartbeatMs,
      heartbeatTimeoutMs: 2000,
    },
  });
  apps.push(a);
  await a.ready();
  assert.ok(a.responseCache?.feed.listening, 'the change feed listens once the app is ready');
  return a;
}

/** A finished release of `repo` with one warning finding of PAD_EQ_EOS. */
async function seedRelease(repo: string): Promise<number> {
  const { release } = await upsertRelease(pool, repo, SHA, 'webhook');
  const [run] = await createCheckRuns(pool, release.id, [{ id: 'pad-eq-eos', queue: 'checks' }]);
  await withTransaction(pool, async (c) => {
    await storeResult(c, run, {
      check: run.checkId,
      status: 'findings',
      durationMs: 1,
      findings: [
        {
          code: 'PAD_EQ_EOS',
          severity: 'warning',
          check: 'pad-eq-eos',
          title: 'pad equals eos',
          detail: 'd',
          evidence: {},
          files: [],
        },
      ],
    });
    await finishRelease(c, release.id, 'warning');
  });
  return release.id;
}

/** Waits until `pred` holds, looking every 5 ms (a notification arrives within a few). */
const until = (pred: () => boolean, what: string, ms = 5000): Promise<boolean> =>
  eventually(async () => pred(), ms, what, 5);

/** Waits until the app's feed has seen a notification after `generation`. */
async function notified(a: FastifyInstance, generation: number): Promise<void> {
  await until(() => a.responseCache!.feed.generation > generation, 'a change is notified');
}

before(async () => {
  env = await testEnv({ apiToken: TOKEN, rateLimitMax: 0 });
  pool = createPool(env.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  await seedRelease('acme/cached');
});

after(async () => {
  for (const a of apps) await a.close();
  await queues.close();
  await pool.end();
  await env.cleanup();
});

describe('response cache over HTTP', () => {
  test('a second read is a hit with the same body and tag; If-None-Match on a hit is 304', async () => {
    const a = await app();
    for (const url of [
      '/v1/models/acme/cached',
      `/v1/models/acme/cached/releases/${SHA}`,
      '/v1/findings?code=PAD_EQ_EOS',
      '/models/acme/cached',
      `/models/acme/cached/releases/${SHA.slice(0, 12)}`,
      '/models/acme/cached/badge.svg',
      '/feed.xml',
      '/',
    ]) {
      const first = await a.inject(url);
      assert.equal(first.statusCode, 200, url);
      assert.equal(first.headers['x-cache'], 'miss', url);
      const second = await a.inject(url);
      assert.equal(second.headers['x-cache'], 'hit', url);
      assert.equal(second.body, first.body, url);
      assert.equal(second.headers.etag, first.headers.etag, url);
      assert.equal(second.headers['content-type'], first.headers['content-type'], url);
      assert.equal(second.headers['cache-control'], first.headers['cache-control'], url);
      // The security headers come with a hit too.
      assert.ok(second.headers['content-security-policy'], url);
      const nm = await a.inject({ url, headers: { 'if-none-match': String(first.headers.etag) } });
      assert.equal(nm.statusCode, 304, url);
      assert.equal(nm.body, '', url);
    }
    // Not marked cacheable: no X-Cache at all.
    assert.equal((await a.inject('/v1/checks')).headers['x-cache'], undefined);
    // Answers other than 200 are not stored.
    for (let i = 0; i < 2; i++) assert.equal((await a.inject('/v1/models/acme/missing')).headers['x-cache'], 'miss');
    // Eight URLs, each a miss, a hit and a 304 hit; two 404 misses.
    const metrics = (await a.inject('/metrics')).body;
    assert.match(metrics, /^hubwatch_api_cache_requests_total\{result="hit"\} 16$/m);
    assert.match(metrics, /^hubwatch_api_cache_requests_total\{result="miss"\} 10$/m);
    assert.match(metrics, /^hubwatch_api_cache_entries 8$/m);
    assert.match(metrics, /^hubwatch_api_cache_listening 1$/m);
    const bytes = Number(/^hubwatch_api_cache_bytes (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(bytes > 8 * 256, `bytes ${bytes}`);
  });

  test('a change another process writes is served once its notification arrives, on every table the reads use', async () => {
    const a = await app();
    const url = '/v1/models/acme/cached';
    await a.inject(url);
    assert.equal((await a.inject(url)).headers['x-cache'], 'hit');
    // As a worker would: a direct write on its own connection.
    const g = a.responseCache!.feed.generation;
    await pool.query(`UPDATE models SET verdict = 'critical' WHERE repo = 'acme/cached'`);
    await notified(a, g);
    const r = await a.inject(url);
    assert.equal(r.headers['x-cache'], 'miss');
    assert.equal(r.json().verdict, 'critical');
    await pool.query(`UPDATE models SET verdict = 'warning' WHERE repo = 'acme/cached'`);
    // Each table the cached routes read notifies, even for a statement that changes no row, and names itself (0013):
    // its own version moves, the others' do not.
    const feed = a.responseCache!.feed;
    for (const table of NOTIFYING_TABLES) {
      const others = NOTIFYING_TABLES.filter((t) => t !== table);
      const [own, rest] = [feed.versionOf([table]), feed.versionOf(others)];
      await pool.query(`DELETE FROM ${table} WHERE false`);
      await until(() => feed.versionOf([table]) > own, `${table} notified`);
      await feed.caughtUp();
      assert.equal(feed.versionOf(others), rest, `only ${table} moved`);
    }
  });

  test('caughtUp() resolves only once every change committed before the call has been counted', async () => {
    const a = await app();
    const feed = a.responseCache!.feed;
    for (let i = 0; i < 20; i++) {
      const g = feed.generation;
      await pool.query(`UPDATE models SET verdict = verdict WHERE repo = 'acme/cached'`);
      await feed.caughtUp();
      assert.ok(feed.generation > g, `round ${i}: the notification was counted`);
    }
    // Probes at once go out one after another on the one connection: pg warns of a query sent while one runs.
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await Promise.all([feed.caughtUp(), feed.caughtUp(), feed.caughtUp()]);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.filter((m) => m.includes('already executing a query')),
      [],
    );
    assert.equal(feed.listening, true);
  });

  test('a write through the API is read back at once, before its notification', async () => {
    const a = await app();
    const url = `/v1/models/acme/cached/releases/${SHA}`;
    await a.inject(url);
    assert.equal((await a.inject(url)).headers['x-cache'], 'hit');
    assert.equal((await a.inject(url)).json().findings[0].muted, false);
    const m = await a.inject({
      method: 'POST',
      url: '/v1/mutes',
      headers: auth,
      payload: { scope: 'model', target: 'acme/cached', code: 'PAD_EQ_EOS', reason: 'known', by: 'test' },
    });
    assert.equal(m.statusCode, 201, m.body);
    const r = await a.inject(url);
    assert.equal(r.headers['x-cache'], 'miss');
    assert.equal(r.json().findings[0].muted, true);
    await a.inject({ method: 'DELETE', url: `/v1/mutes/${m.json().id}?by=test`, headers: auth });
    // The mute's notifications are counted before the cache is expected to keep an answer.
    await a.responseCache!.feed.caughtUp();
    // The generation moves with the write's answer, not with its notification: a write to a table without a trigger
    // (watch rules) notifies nothing, yet the next read is a miss. A refused write keeps the cache.
    await a.inject(url);
    assert.equal((await a.inject(url)).headers['x-cache'], 'hit');
    const bad = await a.inject({
      method: 'POST',
      url: '/v1/watches',
      headers: auth,
      payload: { author: 'a', repo: 'a/b' },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal((await a.inject(url)).headers['x-cache'], 'hit');
    const w = await a.inject({ method: 'POST', url: '/v1/watches', headers: auth, payload: { author: 'someone' } });
    assert.equal(w.statusCode, 201, w.body);
    assert.equal((await a.inject(url)).headers['x-cache'], 'miss');
  });

  test("a route that names its tables keeps its answers through another table's changes, not through its own", async () => {
    const a = await app();
    const feed = a.responseCache!.feed;
    const search = '/v1/findings?code=PAD_EQ_EOS';
    const model = '/models/acme/cached';
    const release = `/v1/models/acme/cached/releases/${SHA}`;
    const warm = async (): Promise<void> => {
      for (const url of [search, model, release]) await a.inject(url);
    };
    const cached = async (url: string): Promise<boolean> => (await a.inject(url)).headers['x-cache'] === 'hit';
    await warm();
    // As a worker checking a release would: check runs change, which the release page shows and the others do not.
    await pool.query(`UPDATE check_runs SET duration_ms = duration_ms WHERE false`);
    await feed.caughtUp();
    assert.equal(await cached(search), true, 'the findings search');
    assert.equal(await cached(model), true, 'the model page');
    assert.equal(await cached(release), false, 'the release reads check runs');
    for (const table of ['findings', 'mutes', 'releases', 'models']) {
      await warm();
      await pool.query(`DELETE FROM ${table} WHERE false`);
      await feed.caughtUp();
      assert.equal(await cached(search), false, `${table}: the findings search`);
      assert.equal(await cached(model), false, `${table}: the model page`);
    }
    // An empty payload (0010's trigger, before 0013) may be any change.
    await warm();
    await pool.query(`SELECT pg_notify('hubwatch_changed', '')`);
    await feed.caughtUp();
    assert.equal(await cached(search), false);
    assert.equal(await cached(model), false);
  });

  test('each route that names its tables reads no other (EXPLAIN of every query it runs)', async () => {
    // The app's queries are recorded on their way to Postgres, and each is explained with its own parameters.
    const own = createPool(env.databaseUrl);
    const recorded = recordQueries(own);
    const a = await buildApp({ pool: own, queues, cfg: env.cfg, log: silentLog });
    const seen = new Map<string, readonly string[] | null>();
    a.addHook('onRequest', async (req) => {
      const c = req.routeOptions.config.cache;
      seen.set(req.routeOptions.url ?? '', typeof c === 'object' ? c.reads : null);
    });
    try {
      await a.ready();
      const since = encodeURIComponent(new Date(0).toISOString());
      const urls = [
        '/v1/models',
        '/v1/models?code=PAD_EQ_EOS&verdict=warning&author=acme',
        '/v1/models/acme/cached',
        '/v1/findings',
        `/v1/findings?code=PAD_EQ_EOS&since=${since}`,
        `/v1/findings?check=pad-eq-eos&severity=warning&cursor=${encodeCursor('findings', 1_000_000)}`,
        '/',
        '/?q=acme&verdict=warning&author=acme',
        '/models/acme/cached',
        '/models/acme/missing',
        '/models/acme/cached/badge.svg',
        '/feed.xml',
        '/feed.xml?author=acme',
        '/orgs/acme/feed.xml',
      ];
      for (const url of urls)
        for (const headers of [{}, auth]) {
          recorded.length = 0;
          seen.clear();
          const res = await a.inject({ url, headers });
          assert.ok(res.statusCode === 200 || res.statusCode === 404, `${url} ${res.statusCode}`);
          const [[route, reads]] = [...seen];
          assert.ok(reads, `${url} (${route}) names the tables it reads`);
          assert.ok(recorded.length > 0, url);
          for (const q of recorded) {
            const r = await pool.query(`EXPLAIN (FORMAT JSON) ${q.text}`, q.values);
            const relations = new Set<string>();
            const walk = (n: { 'Relation Name'?: string; Plans?: unknown[] }): void => {
              if (n['Relation Name']) relations.add(n['Relation Name']);
              for (const c of n.Plans ?? []) walk(c as typeof n);
            };
            walk(r.rows[0]['QUERY PLAN'][0].Plan);
            for (const t of relations) assert.ok(reads.includes(t), `${url} (${route}) reads ${t}, not in ${reads}`);
          }
        }
      // Every route that names its tables was asked for above.
      const named = [...a.responseCache!.routes].filter(([, t]) => t !== null).map(([u]) => u);
      const asked = new Set<string>();
      for (const url of urls) {
        seen.clear();
        await a.inject(url);
        asked.add([...seen.keys()][0]);
      }
      assert.deepEqual(
        named.filter((u) => !asked.has(u)),
        [],
      );
      assert.ok(named.length >= 8, named.join(' '));
    } finally {
      await a.close();
      await own.end();
    }
  });

  test('answers with the token are kept apart from anonymous ones', async () => {
    await seedRelease('acme/secret');
    await pool.query(`UPDATE models SET private = true WHERE repo = 'acme/secret'`);
    const a = await app();
    for (const url of ['/v1/models/acme/secret', '/models/acme/secret', `/v1/models/acme/secret/releases/${SHA}`]) {
      assert.equal((await a.inject({ url, headers: auth })).statusCode, 200, url);
      assert.equal((await a.inject({ url, headers: auth })).headers['x-cache'], 'hit', url);
      assert.equal((await a.inject(url)).statusCode, 404, `${url} anonymous after a cached answer with the token`);
      // A wrong token is refused before the cache is asked.
      assert.equal((await a.inject({ url, headers: { authorization: 'Bearer wrong' } })).statusCode, 401, url);
    }
    const hidden = await a.inject('/v1/findings');
    assert.ok(hidden.json().findings.every((f: { repo: string }) => f.repo !== 'acme/secret'));
    const shown = await a.inject({ url: '/v1/findings', headers: auth });
    assert.ok(shown.json().findings.some((f: { repo: string }) => f.repo === 'acme/secret'));
    assert.ok(
      (await a.inject('/v1/findings')).json().findings.every((f: { repo: string }) => f.repo !== 'acme/secret'),
    );
  });

  test('while the listening connection is lost nothing is served from the cache; it is trusted again once back', async () => {
    const a = await app({ retryMs: 1000 });
    const url = '/v1/models/acme/cached';
    await a.inject(url);
    assert.equal((await a.inject(url)).headers['x-cache'], 'hit');
    const feed = a.responseCache!.feed;
    const g = feed.generation;
    await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'hubwatch-change-feed'`,
    );
    await until(() => !feed.listening, 'the feed has lost its connection');
    assert.ok(feed.generation > g);
    // A change while nobody listens: its notification is lost, and the next reads are misses that see it.
    await pool.query(`UPDATE models SET author = 'changed-while-down' WHERE repo = 'acme/cached'`);
    for (let i = 0; i < 2 && !feed.listening; i++) {
      const r = await a.inject(url);
      assert.equal(r.headers['x-cache'], 'miss');
      assert.equal(r.json().author, 'changed-while-down');
    }
    await until(() => feed.listening, 'the feed listens again', 10_000);
    await a.inject(url);
    const r = await a.inject(url);
    assert.equal(r.headers['x-cache'], 'hit');
    assert.equal(r.json().author, 'changed-while-down');
    await pool.query(`UPDATE models SET author = 'acme' WHERE repo = 'acme/cached'`);
  });

  test('heartbeats (a notification the feed sends itself and gets back) keep it listening and the cache whole', async () => {
    const a = await app({ heartbeatMs: 20 });
    await a.inject('/v1/findings');
    const g = a.responseCache!.feed.generation;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.responseCache!.feed.listening, true);
    assert.equal(a.responseCache!.feed.generation, g, 'a heartbeat is not a change');
    assert.equal((await a.inject('/v1/findings')).headers['x-cache'], 'hit');
  });

  test('entries expire after HUBWATCH_API_CACHE_TTL_MS', async () => {
    const a = await app({ apiCacheTtlMs: 100 });
    await a.inject('/v1/findings');
    assert.equal((await a.inject('/v1/findings')).headers['x-cache'], 'hit');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await a.inject('/v1/findings')).headers['x-cache'], 'miss');
  });

  test('HUBWATCH_API_CACHE_MB=0: no cache and no listening connection', async () => {
    const a = await buildApp({ pool, queues, cfg: { ...env.cfg, apiCacheMb: 0 }, log: silentLog });
    apps.push(a);
    assert.equal(a.responseCache, null);
    await a.inject('/v1/findings');
    assert.equal((await a.inject('/v1/findings')).headers['x-cache'], undefined);
  });
});

describe('ResponseCache', () => {
  /** A feed the test moves by hand. */
  const feed = (): ChangeFeed & { generation: number; listening: boolean; notify(t?: NotifyingTable): void } => {
    // Counts as the real feed does: `all` moves every table, a table's notification only its own.
    let all = 0;
    const per = new Map<string, number>();
    return {
      generation: 1,
      listening: true,
      ready: async () => undefined,
      versionOf: (tables) => tables.reduce((v, t) => v + (per.get(t) ?? 0), all),
      notify(t) {
        this.generation++;
        if (t === undefined) all++;
        else per.set(t, (per.get(t) ?? 0) + 1);
      },
      bump() {
        this.notify();
      },
      caughtUp: async () => undefined,
      close: async () => undefined,
    };
  };
  const entry = (body: string) => ({ body, etag: 'W/"x"', type: 'text/plain', cacheControl: undefined });

  test('a miss that started before a change is not stored; one stored before the change is dropped with it', () => {
    const f = feed();
    const c = new ResponseCache(f, 1 << 20, 60_000);
    const ticket = c.ticket();
    f.notify(); // a change notified while the miss read
    assert.equal(c.put('k', ticket, entry('old')), false);
    assert.equal(c.get('k'), undefined);
    assert.equal(c.put('k', c.ticket(), entry('new')), true);
    assert.equal(c.get('k')?.body, 'new');
    f.notify('models');
    assert.equal(c.get('k'), undefined, 'an entry of a route reading every table goes with any table');
    assert.equal(c.size, 0);
  });

  test('an entry of a route that names its tables goes only with a change to one of them', () => {
    const f = feed();
    const c = new ResponseCache(f, 1 << 20, 60_000);
    const reads: NotifyingTable[] = ['models', 'findings'];
    // A change to another table while the miss read does not keep it from being stored; one to its tables does.
    let ticket = c.ticket(reads);
    f.notify('findings');
    assert.equal(c.put('j', ticket, entry('b'), reads), false);
    ticket = c.ticket(reads);
    f.notify('check_runs');
    assert.equal(c.put('k', ticket, entry('a'), reads), true);
    assert.equal(c.put('all', c.ticket(), entry('c')), true);
    f.notify('check_runs');
    f.notify('snapshots');
    assert.equal(c.get('k')?.body, 'a', 'changes to tables it does not read keep it');
    assert.equal(c.get('all'), undefined, 'an entry of a route reading every table goes');
    f.notify('models');
    assert.equal(c.get('k'), undefined);
    assert.equal(c.size, 0);
    assert.equal(c.byteCount, 0);
    // A change of every table (a write through this process, a new connection) drops all entries at once.
    assert.ok(c.put('k', c.ticket(reads), entry('a'), reads));
    assert.ok(c.put('j', c.ticket(reads), entry('b'), reads));
    f.bump();
    assert.equal(c.get('k'), undefined);
    assert.equal(c.size, 0);
  });

  test('not listening: nothing stored, nothing served', () => {
    const f = feed();
    const c = new ResponseCache(f, 1 << 20, 60_000);
    assert.ok(c.put('k', c.ticket(), entry('a')));
    f.listening = false;
    assert.equal(c.get('k'), undefined);
    assert.equal(c.put('j', c.ticket(), entry('b')), false);
  });

  test('least recently used entries are evicted past the byte limit; one over an eighth of it is never stored', () => {
    const f = feed();
    const body = 'x'.repeat(800);
    // Each entry counts 800 + 1 + 256 = 1057 bytes: nine fit in 10,000.
    const c = new ResponseCache(f, 10_000, 60_000);
    for (const k of 'abcdefghi') assert.ok(c.put(k, c.ticket(), entry(body)));
    assert.ok(c.get('a'));
    assert.ok(c.put('j', c.ticket(), entry(body)));
    assert.equal(c.size, 9);
    assert.equal(c.get('b'), undefined, 'the least recently used entry went');
    for (const k of 'acdefghij') assert.ok(c.get(k), k);
    assert.equal(c.put('big', c.ticket(), entry('y'.repeat(1000))), false);
  });
});
