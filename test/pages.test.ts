/** The pages, badge and feed over HTTP (inject), against a real Postgres seeded through the repo functions. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../services/api/app.ts';
import { createPool, withTransaction } from '../lib/db.ts';
import { createMute, liftMute } from '../lib/mutes.repo.ts';
import { setModelPrivate } from '../lib/releases.repo.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { seedPages } from './page-fixtures.ts';
import { cacheCaughtUp, silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

let env: TestEnv;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;
let seeded: Awaited<ReturnType<typeof seedPages>>;

before(async () => {
  env = await testEnv();
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  app = await buildApp({ pool, queues, cfg: env.cfg, log: silentLog });
  seeded = await seedPages(pool);
});

after(async () => {
  await app?.close();
  await queues?.close();
  await pool?.end();
  await env?.cleanup();
});

// The tests write through the repo functions, as the workers do, between reads of the same pages.
const get = async (url: string) => {
  await cacheCaughtUp(app);
  return app.inject({ method: 'GET', url });
};

test('the index lists models latest release first, with codes, and filters by verdict, author and search', async () => {
  const res = await get('/');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /text\/html/);
  const order = [...res.body.matchAll(/<tr data-repo="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(order, [
    'acme/still-checking',
    'mallory/hostile-strings',
    'acme/tiny-llama3-instruct',
    'other-org/clean-model',
  ]);
  assert.match(res.body, /<code>EOS_MISMATCH<\/code>/);
  const only = async (q: string) =>
    [...(await get(`/?${q}`)).body.matchAll(/<tr data-repo="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(await only('verdict=ok'), ['other-org/clean-model']);
  assert.deepEqual(await only('verdict=pending'), ['acme/still-checking']);
  assert.deepEqual(await only('author=acme&verdict='), ['acme/still-checking', 'acme/tiny-llama3-instruct']);
  assert.deepEqual(await only('q=LLAMA3'), ['acme/tiny-llama3-instruct']);
  assert.deepEqual(await only('q=%25'), [], 'a LIKE wildcard in the search is a literal');
  assert.match((await get('/?q=nothing-here')).body, /No model matches these filters/);
  assert.equal((await get('/?verdict=broken')).statusCode, 400);
});

test('the model page says the verdict in status words, links the timeline to release pages and the Hub', async () => {
  const res = await get('/models/acme/tiny-llama3-instruct');
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /data-verdict="critical">Major issue</);
  assert.match(res.body, /The latest release has critical findings/);
  for (const sha of seeded.critical)
    assert.match(res.body, new RegExp(`href="/models/acme/tiny-llama3-instruct/releases/${sha}"`));
  assert.match(res.body, new RegExp(`href="${env.cfg.hubUrl}/acme/tiny-llama3-instruct/commit/${seeded.critical[1]}"`));
  assert.match(
    res.body,
    /What to do: Add the chat template&#39;s turn terminator to eos_token_id in generation_config.json\./,
  );
  // The timeline's counts (stored with each verdict, migration 0009) are each release's unmuted findings.
  for (const sha of seeded.critical) {
    const n = (
      await pool.query(
        `SELECT count(*) FILTER (WHERE severity = 'critical') AS c, count(*) FILTER (WHERE severity = 'warning') AS w,
           count(*) FILTER (WHERE severity = 'info') AS i
         FROM current_findings WHERE sha = $1 AND mute_id IS NULL`,
        [sha],
      )
    ).rows[0];
    const item = res.body.match(new RegExp(`<li data-sha="${sha}">[\\s\\S]*?</li>`))?.[0] ?? '';
    const none = Number(n.c) + Number(n.w) + Number(n.i) === 0;
    assert.match(item, none ? /no findings/ : new RegExp(`${n.c} critical, ${n.w} warning, ${n.i} info`), item);
  }
  assert.match(res.body, /[1-9]\d* critical, \d+ warning, \d+ info/, 'the critical release counted');
  assert.equal((await get('/models/acme/nothing')).statusCode, 404);
});

test('the release page lists every check, renders evidence as tables and draws the stored norm profiles', async () => {
  const res = await get(`/models/acme/tiny-llama3-instruct/releases/${seeded.critical[1].slice(0, 7)}`);
  assert.equal(res.statusCode, 200);
  for (const c of ['config-vs-weights', 'eos-vs-template', 'untrained-tokens', 'base-fingerprint', 'fast-vs-slow'])
    assert.match(res.body, new RegExp(`<tr data-check="${c}"`));
  assert.match(res.body, /no tokenizer.model or slow vocabulary files/);
  assert.match(res.body, /<td data-label="previous"><code>500000<\/code><\/td>/);
  // Token strings and names may wrap after | . _ / (<wbr>); the text is the same.
  const text = res.body.replaceAll('<wbr>', '');
  assert.match(text, /<code>&#34;&#60;\|eot_id\|&#62;&#34;<\/code>/, 'token strings shown as JSON strings');
  const plots = [...res.body.matchAll(/<svg\s+class="plot"[^>]*data-tensor="([^"]+)"[^>]*data-flagged="(\d+)"/g)];
  assert.ok(plots.length >= 2, 'embedding and lm_head plots');
  assert.deepEqual([...new Set(plots.map((p) => p[1]))].sort(), ['lm_head.weight', 'model.embed_tokens.weight']);
  assert.ok(plots.every((p) => p[2] === '97'));
  assert.doesNotMatch(res.body, /http-equiv="refresh"/);
  assert.match(res.body, /compare with previous/);
});

test('norm profiles are stored once per release, not in each finding', async () => {
  const r = await pool.query(
    `SELECT f.evidence, (SELECT count(*) FROM release_evidence e WHERE e.release_id = f.release_id) AS n
     FROM findings f JOIN releases r ON r.id = f.release_id WHERE r.sha = $1 AND f.check_id = 'untrained-tokens'`,
    [seeded.critical[1]],
  );
  assert.equal(r.rows.length, 2);
  for (const row of r.rows) {
    assert.equal(row.evidence.profiles, undefined);
    assert.equal(row.evidence.evidenceRef, 'norm-profiles');
    assert.equal(Number(row.n), 1);
  }
});

test('a release still being checked says so, lists what is done, refreshes itself and never says "No findings"', async () => {
  const res = await get(`/models/acme/still-checking/releases/${seeded.pending}`);
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /<meta http-equiv="refresh" content="5"/);
  assert.match(res.body, /Checks running: 1 of 3 done/);
  assert.match(res.body, /Done:\s*<code>config-vs-weights<\/code>\. Still\s+running:\s*<code>eos-vs-template<\/code>/);
  assert.doesNotMatch(res.body, /No findings:/);
  assert.doesNotMatch(res.body, /id="no-findings"/);
});

test('compare shows config changes, the tokenizer fingerprint and findings appeared and resolved', async () => {
  const res = await get(`/models/acme/tiny-llama3-instruct/releases/${seeded.critical[1]}/compare`);
  assert.equal(res.statusCode, 200);
  assert.match(res.body.replaceAll('<wbr>', ''), /<td data-label="field">rope_theta<\/td>/);
  assert.match(res.body, /id="tokenizer-changed"/);
  assert.match(res.body, /<ul id="appeared">[\s\S]*data-code="EOS_MISMATCH"/);
  assert.match(res.body, /<p id="resolved">None.<\/p>/);
  assert.equal((await get(`/models/acme/tiny-llama3-instruct/releases/${seeded.critical[0]}/compare`)).statusCode, 404);
});

test('every string from a repo is escaped', async () => {
  for (const url of [
    '/',
    '/models/mallory/hostile-strings',
    `/models/mallory/hostile-strings/releases/${seeded.evil}`,
  ]) {
    const body = (await get(url)).body;
    assert.doesNotMatch(body, /<script/i, url);
    assert.doesNotMatch(body, /<img/i, url);
  }
});

test('the badge is shields-style: the status word and colour, grey unknown for unseen models', async () => {
  const crit = await get('/models/acme/tiny-llama3-instruct/badge.svg');
  assert.equal(crit.statusCode, 200);
  assert.match(crit.headers['content-type'] as string, /^image\/svg\+xml/);
  assert.match(crit.body, /data-state="critical">major issue</);
  assert.match(crit.body, /fill="#cf222e"/);
  const unknown = await get('/models/acme/never-seen/badge.svg');
  assert.equal(unknown.statusCode, 200);
  assert.match(unknown.body, /data-state="unknown">unknown</);
  assert.match(unknown.body, /fill="#59636e"/);
  assert.match((await get('/models/acme/still-checking/badge.svg')).body, /data-state="pending">checking</);
});

test('the Atom feed lists verdict changes, newest first, for everyone and per org', async () => {
  const all = await get('/feed.xml');
  assert.equal(all.statusCode, 200);
  assert.match(all.headers['content-type'] as string, /^application\/atom\+xml/);
  const titles = [...all.body.matchAll(/<title>([^<]+)<\/title>/g)].map((m) => m[1]);
  assert.deepEqual(titles, [
    'hubwatch: verdict changes',
    'mallory/hostile-strings: Major issue (first release checked)',
    'acme/tiny-llama3-instruct: Major issue (was Operational)',
    'other-org/clean-model: Operational (first release checked)',
    'acme/tiny-llama3-instruct: Operational (first release checked)',
  ]);
  assert.match(
    all.body,
    new RegExp(
      `<link rel="alternate" type="text/html" href="${env.cfg.publicUrl}/models/acme/tiny-llama3-instruct/releases/${seeded.critical[1]}"/>`,
    ),
  );
  const org = await get('/orgs/other-org/feed.xml');
  assert.equal([...org.body.matchAll(/<entry>/g)].length, 1);
  const q = await get('/feed.xml?author=acme');
  assert.equal([...q.body.matchAll(/<entry>/g)].length, 2);
  assert.doesNotMatch(all.body, /<script/);
  assert.equal((await get('/feed.xml?author=..%2Fx')).statusCode, 400);
});

test('a muted finding is shown as muted, apart from the open ones, and leaves the index codes', async () => {
  const mute = await withTransaction(pool, (c) =>
    createMute(c, {
      scope: 'org',
      target: 'acme',
      code: 'CONFIG_CHANGED',
      reason: 'intended rope change',
      createdBy: 'test',
    }),
  );
  assert.ok(mute);
  try {
    const release = await get(`/models/acme/tiny-llama3-instruct/releases/${seeded.critical[1]}`);
    assert.match(
      release.body,
      /<h3>Muted<\/h3>\s*<section\s+class="finding sev-warning muted-finding"\s+data-code="CONFIG_CHANGED"/,
    );
    const model = await get('/models/acme/tiny-llama3-instruct');
    assert.match(model.body, /data-code="CONFIG_CHANGED"[^>]*data-muted="true"/);
    const index = (await get('/?q=tiny-llama3')).body;
    assert.doesNotMatch(index, /<code>CONFIG_CHANGED<\/code>/);
    assert.match(index, /<code>EOS_MISMATCH<\/code>/);
  } finally {
    await withTransaction(pool, (c) => liftMute(c, mute.id, 'test', null));
  }
});

test("a private repo's pages, badge and feed entries are hidden from anonymous readers", async () => {
  await setModelPrivate(pool, 'other-org/clean-model', true);
  try {
    assert.equal((await get('/models/other-org/clean-model')).statusCode, 404);
    assert.equal((await get(`/models/other-org/clean-model/releases/${'e5'.repeat(20)}`)).statusCode, 404);
    assert.match((await get('/models/other-org/clean-model/badge.svg')).body, /data-state="unknown"/);
    assert.doesNotMatch((await get('/')).body, /other-org\/clean-model/);
    assert.doesNotMatch((await get('/feed.xml')).body, /other-org/);
  } finally {
    await setModelPrivate(pool, 'other-org/clean-model', false);
  }
});
