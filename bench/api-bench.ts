/**
 * Load benchmark of the read API and status pages on a database of realistic size.
 *
 * Seeds a fresh database (the migrations, then server-side generated rows) with 10,000 models, 100,000 releases,
 * 31 check runs per release and 1,000,000 findings (Zipf-distributed codes, a few rechecked releases, mutes,
 * private models); starts the API as `hubwatch serve` (a child process, rate limit off); then, per route, offers a
 * fixed rate of requests (open loop: requests leave on schedule whatever the answers do, and latency counts from
 * the scheduled time, so a slow server cannot hide its queueing) and prints p50/p99/max latency and the achieved
 * requests per second. Before the load it prints `EXPLAIN (ANALYZE, BUFFERS)` summaries of every query each route
 * runs (captured from the app itself, not copied here), with the indexes used and any sequential scan.
 *
 * By default it runs twice in one invocation: first without the indexes of FINDINGS_INDEX_MIGRATION (dropped), then
 * with them, so the effect of that migration is measured on the same data and machine. The database is dropped at
 * the end (also on Ctrl-C).
 *
 * With `--baseline DIR` (another checkout, e.g. `git worktree add /tmp/old HEAD~3` with its node_modules), the
 * seeded database is migrated by that checkout, copied (CREATE DATABASE … TEMPLATE) and the copy migrated by this
 * one; both `hubwatch serve` run at once, each on its own copy, and every route is driven against the baseline and
 * then this checkout, back to back, so old and new meet the same data and the same machine load.
 * `--keep` keeps the database(s) and prints their names; `--database NAME` (and `--baseline-database NAME`) reuse
 * them instead of seeding (about 2 minutes). Besides the server's CPU per request it reports the CPU of the
 * server's Postgres backends per request (found by application_name; Linux /proc), and the share of answers served
 * from the response cache (`X-Cache: hit`); the warm-up requests every path of a route once, so with the cache on the
 * measured seconds are repeated reads, and `--no-cache` (HUBWATCH_API_CACHE_MB=0) measures every request as a first.
 *
 *   npm run bench:api -- [--rate 500] [--seconds 5] [--warmup 5] [--without-indexes | --with-indexes-only] [--scale 1]
 *                        [--log-level warn] [--keep] [--routes REGEX] [--baseline DIR [--baseline-database NAME]]
 *                        [--database NAME] [--server-cpu-prof DIR] [--no-cache] [--writes 0]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Pool as HttpPool } from 'undici';
import { ALL_CHECKS } from '../checks/index.ts';
import { loadConfig } from '../lib/config.ts';
import { encodeCursor } from '../lib/cursor.ts';
import { createPool } from '../lib/db.ts';
import { DEFAULT_SEARCH_LIMIT, searchFindings } from '../lib/findings.repo.ts';
import type { Pool } from '../lib/db.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../lib/migrate.ts';
import { QUEUE, createQueues, redisConnection } from '../lib/queues.ts';
import { findingCountsOf } from '../lib/releases.repo.ts';
import { buildApp } from '../services/api/app.ts';
import { adminQuery, dbUrl, recordQueries } from '../test/helpers.ts';
import { freePort } from '../test/own-services.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The migration whose indexes the "without" run drops (its CREATE INDEX statements; it drops the ones it replaces). */
const FINDINGS_INDEX_MIGRATION = '0012-findings-search-order.sql';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
    // Seconds of load before each measured run. Every server starts with fresh pool connections, and a fresh Postgres
    // backend spends several ms of CPU on each of its first queries (catalog caches; each named statement planned for
    // its first five runs): with 1-2 s the first route measured mostly that (the model page's db cpu 2.4-2.8 ms per
    // request after 2 s, 1.6 ms after 8 s, same code and data).
    warmup: { type: 'string', default: '5' },
    scale: { type: 'string', default: '1' },
    'without-indexes': { type: 'boolean', default: false },
    'with-indexes-only': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    keep: { type: 'boolean', default: false },
    routes: { type: 'string' },
    baseline: { type: 'string' },
    'baseline-database': { type: 'string' },
    database: { type: 'string' },
    'server-cpu-prof': { type: 'string' },
    // The servers without their response cache (HUBWATCH_API_CACHE_MB=0): every request reads Postgres.
    'no-cache': { type: 'boolean', default: false },
    // One-row updates of check runs per second on each server's database while it is driven, as workers checking
    // releases make: each is a change notified to the server's response cache.
    writes: { type: 'string', default: '0' },
  },
});
const BASELINE = args.baseline ? resolve(args.baseline) : null;
if (args['baseline-database'] && !BASELINE) throw new Error('--baseline-database needs --baseline');
if (BASELINE && args.database && !args['baseline-database'])
  throw new Error('--database with --baseline needs --baseline-database too (each checkout has its own copy)');
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const WRITES = Number(args.writes);
const SCALE = Number(args.scale);
const MODELS = Math.round(10_000 * SCALE);
const RELEASES = Math.round(100_000 * SCALE);
const FINDINGS = Math.round(1_000_000 * SCALE);
/** The queue prefix of everything this run starts (the API creates its queues; nothing is enqueued). */
const QUEUE_PREFIX = `bench-${randomBytes(4).toString('hex')}`;
const REDIS_URL = process.env.HUBWATCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const log = (s: string): void => void process.stdout.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Seed

/** Severity per code as the checks mostly report it (a few codes can be reported at another severity too). */
const CRITICAL = new Set([
  'EOS_MISMATCH',
  'UNSAFE_PICKLE',
  'SHAPE_MISMATCH',
  'TOKEN_ID_OUT_OF_RANGE',
  'UNTRAINED_SPECIAL_TOKEN',
  'NONFINITE_WEIGHTS',
  'CHAT_TEMPLATE_ERROR',
  'HEAD_DIM_MISMATCH',
  'MODEL_TYPE_MISMATCH',
  'VOCAB_SIZE_MISMATCH',
  'FILE_MALFORMED',
  'SPECIAL_TOKEN_ID_MISMATCH',
  'WEIGHTS_NOT_FROM_BASE',
]);
const INFO = new Set([
  'FILE_SKIPPED',
  'CONFIG_CHANGED',
  'TOKENIZER_CHANGED',
  'PICKLE_WEIGHTS',
  'REMOTE_CODE',
  'LEGACY_SPM',
  'WEIGHTS_IDENTICAL_TO_BASE',
  'LOW_RANK_DELTA',
]);
const severityOf = (code: string): string => (CRITICAL.has(code) ? 'critical' : INFO.has(code) ? 'info' : 'warning');

/**
 * The (check, code) pairs of the catalog with Zipf frequencies (the k-th most frequent pair ∝ 1/k), in a fixed
 * shuffled order so common and rare codes mix across checks; returned as SQL VALUES rows.
 */
function catalogRows(): { values: string; count: number } {
  const pairs = ALL_CHECKS.flatMap((c, pos) => c.codes.map((code) => ({ check: c.id, queue: c.queue, pos, code })));
  let s = 2026;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  const h = pairs.reduce((a, _, k) => a + 1 / (k + 1), 0);
  let cum = 0;
  const rows = pairs.map((p, k) => {
    const lo = cum;
    cum += 1 / (k + 1) / h;
    return `(${k}, '${p.check}', ${p.pos}, '${p.code}', '${severityOf(p.code)}', ${lo}, ${k === pairs.length - 1 ? 1.01 : cum})`;
  });
  return { values: rows.join(',\n'), count: pairs.length };
}

const ORGS = [
  'meta-llama',
  'Qwen',
  'mistralai',
  'google',
  'microsoft',
  'deepseek-ai',
  'allenai',
  'tiiuae',
  'HuggingFaceTB',
  'nvidia',
  'ibm-granite',
  'openai',
  'unsloth',
  'bartowski',
  'NousResearch',
  'teknium',
];

async function seed(pool: Pool): Promise<void> {
  const { values, count } = catalogRows();
  const checks = ALL_CHECKS.map((c, pos) => `(${pos}, '${c.id}', '${c.queue}')`).join(',');
  const C = ALL_CHECKS.length;
  const c = await pool.connect();
  const step = async (name: string, sql: string): Promise<void> => {
    const t = performance.now();
    const r = await c.query(sql);
    log(`  seed ${name}: ${r.rowCount ?? 0} rows, ${((performance.now() - t) / 1000).toFixed(1)} s`);
  };
  try {
    // The rows are consistent by construction; skipping the per-row foreign-key triggers makes the seed minutes faster.
    await c.query(`SET session_replication_role = replica; SELECT setseed(0.2026)`);
    await c.query(`CREATE TEMP TABLE cat (k int, check_id text, pos int, code text, severity text, lo float8, hi float8);
      INSERT INTO cat VALUES ${values};
      CREATE TEMP TABLE bucket AS SELECT b, (SELECT k FROM cat WHERE b / 10000.0 >= lo AND b / 10000.0 < hi) AS k
        FROM generate_series(0, 9999) b;
      CREATE TEMP TABLE chk (pos int, check_id text, queue text); INSERT INTO chk VALUES ${checks};`);
    await step(
      'models',
      `INSERT INTO models (id, repo, author, private, created_at, updated_at)
       SELECT g, a || '/' || (ARRAY['Llama-3','Qwen3','Mistral','gemma-3','Phi-4','Falcon3','OLMo-2','DeepSeek-R1'])[1 + g % 8]
                || '-' || (ARRAY['0.5B','1B','3B','7B','8B','14B','32B','70B'])[1 + (g / 8) % 8]
                || '-' || (ARRAY['Base','Instruct','Chat','SFT','DPO','GGUF'])[1 + (g / 64) % 6] || '-' || g,
              a, g % 20 = 7, timestamptz '2025-01-01' + g * interval '30 minutes', now()
       FROM (SELECT g, CASE WHEN g % 4 = 0 THEN (ARRAY['${ORGS.join("','")}'])[1 + g % ${ORGS.length}]
                            ELSE 'lab-' || floor(1500 * random() ^ 2)::int END AS a
             FROM generate_series(1, ${MODELS}) g) x`,
    );
    // Every model gets a release, then the rest go mostly to a few busy models (a power law, like real orgs).
    await step(
      'releases',
      `INSERT INTO releases (id, model_id, repo, sha, source, received_at, status, verdict, previous_release_id,
                             attempts, check_attempt, updated_at, finished_at)
       SELECT x.g, x.model_id, m.repo, md5('r' || x.g) || substr(md5('s' || x.g), 1, 8),
              CASE WHEN x.g % 100 = 0 THEN 'manual' WHEN x.g % 10 = 3 THEN 'poller' ELSE 'webhook' END,
              x.at, 'done', 'ok', lag(x.g) OVER (PARTITION BY x.model_id ORDER BY x.g), 1,
              CASE WHEN x.g % 50 = 0 THEN 2 ELSE 1 END, x.at, x.at + (40 + x.g % 200) * interval '1 second'
       FROM (SELECT g, CASE WHEN g <= ${MODELS} THEN g ELSE 1 + floor(${MODELS} * random() ^ 2)::int END AS model_id,
                    timestamptz '2025-01-01' + g * (interval '1 second' * ${Math.round(300 / SCALE)}) AS at
             FROM generate_series(1, ${RELEASES}) g) x
       JOIN models m ON m.id = x.model_id`,
    );
    // Findings per release: exponential, mean 10 (a tenth of releases have none); code by the Zipf buckets.
    await step(
      'finding plan',
      `CREATE TEMP TABLE tf AS
       SELECT row_number() OVER (ORDER BY y.release_id, y.n) AS fid, y.*, cat.check_id, cat.pos, cat.code, cat.severity
       FROM (SELECT r.id AS release_id, s.n, r.received_at,
                    CASE WHEN r.check_attempt = 2 AND random() < 0.5 THEN 1 ELSE r.check_attempt END AS attempt,
                    floor(random() * 10000)::int AS b
             FROM releases r
             CROSS JOIN LATERAL generate_series(1, floor(-ln(1 - random()) * 10.5 + r.id * 0)::int) s(n)) y
       JOIN bucket USING (b) JOIN cat USING (k)
       ORDER BY y.release_id, y.n LIMIT ${FINDINGS}`,
    );
    await c.query(`CREATE TEMP TABLE tfr AS SELECT DISTINCT release_id, attempt, pos FROM tf; ANALYZE tf; ANALYZE tfr`);
    // Check run ids are computed: attempt 1 of release r, check p is (r-1)*C+p+1; attempt 2 runs follow.
    const runId = (rel: string, att: string, pos: string): string =>
      `CASE WHEN ${att} = 1 THEN (${rel} - 1) * ${C} + ${pos} + 1 ELSE ${RELEASES * C} + (${rel} / 50 - 1) * ${C} + ${pos} + 1 END`;
    // Secondary indexes are built once after the bulk load (much faster than maintaining them row by row).
    const secondary = (
      await c.query<{ name: string; def: string }>(
        `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
         WHERE i.schemaname = 'public' AND i.tablename IN ('check_runs', 'findings')
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)`,
      )
    ).rows;
    for (const i of secondary) await c.query(`DROP INDEX ${i.name}`);
    await step(
      'check_runs',
      `INSERT INTO check_runs (id, release_id, attempt, check_id, queue, status, duration_ms, attempts, created_at,
                               started_at, finished_at)
       SELECT ${runId('r.id', 'a.attempt', 'k.pos')}, r.id, a.attempt, k.check_id, k.queue,
              CASE WHEN tfr.pos IS NOT NULL THEN 'findings' WHEN k.queue = 'tensor' AND r.id % 7 = 0 THEN 'skipped'
                   ELSE 'passed' END,
              CASE WHEN k.queue = 'tensor' THEN 4000 + (r.id * 7 + k.pos) % 30000 ELSE 5 + (r.id + k.pos) % 400 END,
              1, r.received_at, r.received_at + interval '2 seconds', r.finished_at
       FROM releases r
       CROSS JOIN LATERAL (SELECT 1 AS attempt UNION ALL SELECT 2 WHERE r.check_attempt = 2) a
       CROSS JOIN chk k
       LEFT JOIN tfr ON tfr.release_id = r.id AND tfr.attempt = a.attempt AND tfr.pos = k.pos`,
    );
    // Triggers are off while seeding (session_replication_role), so the attempt each finding carries since 0011 is
    // written here; a baseline checkout from before 0011 has no such column (its copy is migrated afterwards).
    const hasAttempt =
      (
        await c.query(
          `SELECT 1 FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name = 'findings' AND column_name = 'attempt'`,
        )
      ).rowCount === 1;
    await step(
      'findings',
      `INSERT INTO findings (id, check_run_id, release_id, code, severity, check_id, title, detail, evidence, files,
                             created_at${hasAttempt ? ', attempt' : ''})
       SELECT fid, ${runId('release_id', 'attempt', 'pos')}, release_id, code, severity, check_id,
              initcap(replace(lower(code), '_', ' ')) || ' in ' || (ARRAY['config.json','tokenizer_config.json','tokenizer.json','generation_config.json','model.safetensors'])[1 + fid % 5],
              'Expected ' || (fid % 997) || ' (from ' || (ARRAY['config.json','the base model','the tokenizer','the chat template'])[1 + fid % 4]
                || ') but the release declares ' || (fid % 991) || '; inference engines that read the declared value '
                || 'will behave differently from the reference implementation.',
              jsonb_build_object('expected', fid % 997, 'actual', fid % 991, 'file', 'config.json',
                                 'key', (ARRAY['eos_token_id','rope_theta','vocab_size','head_dim','hidden_act'])[1 + fid % 5]),
              ARRAY[(ARRAY['config.json','tokenizer_config.json','tokenizer.json','generation_config.json','model.safetensors'])[1 + fid % 5]],
              received_at + (30 + fid % 200) * interval '1 second'${hasAttempt ? ', attempt' : ''}
       FROM tf ORDER BY fid`,
    );
    const ti = performance.now();
    for (const i of secondary) await c.query(i.def);
    log(`  seed secondary indexes of check_runs and findings: ${((performance.now() - ti) / 1000).toFixed(1)} s`);
    // Verdicts: the worst unmuted severity of the current attempt (mutes come after; a few verdicts are then stale,
    // as they are after a mute until the next check), a few check errors.
    await step(
      'release verdicts',
      `UPDATE releases r SET verdict = CASE WHEN r.id % 97 = 0 THEN 'error' WHEN v.s = 1 THEN 'critical'
                                            WHEN v.s = 2 THEN 'warning' ELSE 'ok' END
       FROM (SELECT r2.id, min(CASE f.severity WHEN 'critical' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END) AS s
             FROM releases r2 LEFT JOIN tf f ON f.release_id = r2.id AND f.attempt = r2.check_attempt
             GROUP BY r2.id) v
       WHERE v.id = r.id`,
    );
    await step(
      'model verdicts',
      `UPDATE models m SET latest_release_id = l.id, verdict = l.verdict, updated_at = l.finished_at
       FROM (SELECT DISTINCT ON (model_id) id, model_id, verdict, finished_at FROM releases
             ORDER BY model_id, received_at DESC, id DESC) l
       WHERE l.model_id = m.id`,
    );
    await step(
      'mutes',
      `INSERT INTO mutes (scope, target, code, reason, created_by)
       SELECT 'org', o, code, 'known upstream; tracked with the vendor', 'bench'
       FROM unnest(ARRAY['${ORGS.slice(0, 6).join("','")}']) o, (SELECT DISTINCT code FROM (SELECT code FROM cat ORDER BY k LIMIT 5) x) c
       UNION ALL
       SELECT DISTINCT ON (m.repo, c.code) 'model', m.repo, c.code, 'accepted by the model owner', 'bench'
       FROM models m, (SELECT DISTINCT code FROM (SELECT code FROM cat ORDER BY k LIMIT 3) x) c WHERE m.id % 97 = 1`,
    );
    // The timeline counts each finished release keeps (migration 0009), as the app writes them: after the mutes.
    await step(
      'release finding counts',
      `UPDATE releases r SET finding_counts = ${findingCountsOf('r.id')} WHERE r.status IN ('done', 'failed')`,
    );
    await c.query(`SELECT setval('models_id_seq', ${MODELS}); SELECT setval('releases_id_seq', ${RELEASES});
      SELECT setval('check_runs_id_seq', (SELECT max(id) FROM check_runs));
      SELECT setval('findings_id_seq', (SELECT max(id) FROM findings));
      SET session_replication_role = origin; DROP TABLE tf, tfr, cat, bucket, chk`);
    const t = performance.now();
    await c.query('VACUUM (ANALYZE) models, releases, check_runs, findings, mutes, release_evidence');
    log(`  seed vacuum analyze: ${((performance.now() - t) / 1000).toFixed(1)} s (${count} check/code pairs)`);
  } finally {
    c.release();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Routes and their query plans

interface Route {
  name: string;
  /** Request paths, cycled through by the load. */
  paths: string[];
}

async function routes(pool: Pool, n = 2000): Promise<Route[]> {
  const pick = <T>(rows: T[], i: number): T => rows[(i * 7919) % rows.length];
  const models = (
    await pool.query<{ repo: string }>(`SELECT repo FROM models WHERE NOT private ORDER BY md5(repo) LIMIT ${n}`)
  ).rows;
  const releases = (
    await pool.query<{ repo: string; sha: string }>(
      `SELECT r.repo, r.sha FROM releases r JOIN models m ON m.id = r.model_id WHERE NOT m.private
       ORDER BY md5(r.sha) LIMIT ${n}`,
    )
  ).rows;
  const codes = (await pool.query<{ code: string }>('SELECT DISTINCT code FROM findings ORDER BY code')).rows;
  const checks = ALL_CHECKS.map((c) => c.id);
  const maxId = Number((await pool.query('SELECT max(id) AS m FROM findings')).rows[0].m);
  const newest = (await pool.query<{ t: Date }>('SELECT max(created_at) AS t FROM findings')).rows[0].t.getTime();
  const range = (f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));
  const sev = ['critical', 'warning', 'info'];
  // A release by full sha or by a 12-character prefix (links and the CLI use both).
  const rel = (i: number): string => {
    const r = pick(releases, i);
    return `${r.repo}/releases/${i % 2 ? r.sha : r.sha.slice(0, 12)}`;
  };
  return [
    { name: 'page  /models/:repo', paths: range((i) => `/models/${pick(models, i).repo}`) },
    { name: 'json  /v1/models/:repo', paths: range((i) => `/v1/models/${pick(models, i).repo}`) },
    { name: 'page  /models/:repo/releases/:sha', paths: range((i) => `/models/${rel(i)}`) },
    { name: 'json  /v1/models/:repo/releases/:sha', paths: range((i) => `/v1/models/${rel(i)}`) },
    { name: 'json  /v1/findings', paths: range(() => '/v1/findings') },
    { name: 'json  /v1/findings?code=', paths: range((i) => `/v1/findings?code=${pick(codes, i).code}`) },
    { name: 'json  /v1/findings?severity=', paths: range((i) => `/v1/findings?severity=${sev[i % 3]}`) },
    { name: 'json  /v1/findings?check=', paths: range((i) => `/v1/findings?check=${checks[i % checks.length]}`) },
    {
      name: 'json  /v1/findings?code=&since=',
      paths: range((i) => {
        const since = new Date(newest - (1 + ((i * 7919) % 90)) * 86_400_000).toISOString();
        return `/v1/findings?code=${pick(codes, i + 1).code}&since=${since}`;
      }),
    },
    {
      name: 'json  /v1/findings?code=&cursor=',
      paths: range(
        (i) =>
          `/v1/findings?code=${pick(codes, i).code}&cursor=${encodeCursor('findings', 1 + Math.floor(maxId * (((i + 1) * 0.618034) % 1)))}`,
      ),
    },
    { name: 'json  /v1/findings?code=&cursor= paging', paths: await pagingPaths(pool, codes, maxId, n) },
  ];
}

/**
 * Readers paging through a code's findings as a client does, each following its pages' nextCursor from a random
 * start: `readers` of them at once, each a page further on every round (the paths interleave the readers, so
 * requests in a row belong to different readers). The random-cursor route puts every request on a page far from the
 * one before; here a reader's next page is next to its last.
 */
async function pagingPaths(pool: Pool, codes: { code: string }[], maxId: number, n: number): Promise<string[]> {
  const readers = 100;
  const pages = Math.ceil(n / readers);
  const chains: string[][] = [];
  for (let r = 0; r < readers; r++) {
    const code = codes[(r * 7919) % codes.length].code;
    let cursor = 1 + Math.floor(maxId * (((r + 1) * 0.381966) % 1));
    const chain: string[] = [];
    while (chain.length < pages) {
      chain.push(`/v1/findings?code=${code}&cursor=${encodeCursor('findings', cursor)}`);
      // The API's own query and page size (one more than a page, to know whether a next one exists); the page's
      // last finding is the next page's cursor.
      const page = DEFAULT_SEARCH_LIMIT - 1;
      const rows = await searchFindings(pool, { code, beforeId: cursor, includePrivate: false, limit: page + 1 });
      if (rows.length <= page) break;
      cursor = rows[page - 1].id;
    }
    chains.push(chain);
  }
  const paths: string[] = [];
  for (let p = 0; p < pages; p++) for (const c of chains) if (c[p] !== undefined) paths.push(c[p]);
  return paths.slice(0, n);
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

const BIG_TABLES = new Set(['models', 'releases', 'check_runs', 'findings']);

/**
 * Runs each route's first path (and, for the code filter, the rarest code: the worst case of a newest-first scan)
 * once through the app in this process with the pool's queries recorded, then prints EXPLAIN (ANALYZE, BUFFERS) of
 * each distinct query with those parameters: execution time, buffers, and every scan with its index.
 * Returns how many sequential scans of a big table the plans hold.
 */
async function explainRoutes(pool: Pool, databaseUrl: string, list: Route[]): Promise<number> {
  const cfg = {
    ...loadConfig({}),
    databaseUrl,
    redisUrl: REDIS_URL,
    rateLimitMax: 0,
    queuePrefix: QUEUE_PREFIX,
  };
  const appPool = createPool(databaseUrl);
  const recorded = recordQueries(appPool);
  const queues = createQueues(cfg.redisUrl, cfg.queuePrefix);
  const app = await buildApp({ pool: appPool, queues, cfg, log: createLogger('silent') });
  const rarest = (
    await pool.query<{ code: string }>('SELECT code FROM findings GROUP BY code ORDER BY count(*), code LIMIT 1')
  ).rows[0].code;
  let seqScans = 0;
  try {
    for (const route of list) {
      const path = route.name.endsWith('?code=') ? `/v1/findings?code=${rarest}` : route.paths[0];
      recorded.length = 0;
      const res = await app.inject({ method: 'GET', url: path });
      log(`  ${route.name}  GET ${path} → ${res.statusCode}`);
      const seen = new Set<string>();
      for (const q of recorded) {
        if (seen.has(q.text)) continue;
        seen.add(q.text);
        const r = await pool.query<{
          'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number }];
        }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${q.text}`, q.values);
        const { Plan: plan, 'Execution Time': ms, 'Planning Time': planning } = r.rows[0]['QUERY PLAN'][0];
        const scans: string[] = [];
        const walk = (p: PlanNode): void => {
          if (p['Relation Name'] || p['Index Name']) {
            const seq = p['Node Type'] === 'Seq Scan' && BIG_TABLES.has(p['Relation Name'] ?? '');
            if (seq) seqScans++;
            scans.push(
              `${seq ? 'SEQ SCAN ' : ''}${p['Node Type']}${p['Index Name'] ? ` ${p['Index Name']}` : ''}` +
                `${p['Relation Name'] ? ` on ${p['Relation Name']}` : ''} (rows ${p['Actual Rows']}×${p['Actual Loops']})`,
            );
          }
          p.Plans?.forEach(walk);
        };
        walk(plan);
        const sql = q.text.replace(/\s+/g, ' ').trim();
        log(
          `    ${ms.toFixed(2).padStart(7)} ms (planning ${planning.toFixed(2)} ms)  buffers hit ${plan['Shared Hit Blocks'] ?? 0} read ${plan['Shared Read Blocks'] ?? 0}  ` +
            `${sql.length > 110 ? `${sql.slice(0, 107)}...` : sql}`,
        );
        log(`               ${scans.join(' · ')}`);
      }
    }
  } finally {
    await app.close();
    await queues.close();
    await appPool.end();
  }
  return seqScans;
}

// ---------------------------------------------------------------------------------------------------------------
// The server and the load

/** A `hubwatch serve` under load: the checkout it runs from, its database, its process. */
interface Target {
  label: string;
  child: ChildProcess;
  origin: string;
  /** The application_name of its Postgres connections (to find their backends). */
  appName: string;
  databaseUrl: string;
}

/**
 * `hubwatch serve` of the checkout at `root` in a child process, as an operator starts it, its log (stderr) in
 * `logPath`, its Postgres connections named `appName`; resolves once /healthz answers.
 */
async function startServer(
  root: string,
  label: string,
  databaseUrl: string,
  logPath: string,
  appName: string,
): Promise<Target> {
  const port = await freePort();
  const logFd = openSync(logPath, 'w');
  const url = new URL(databaseUrl);
  url.searchParams.set('application_name', appName);
  // A V8 CPU profile of each server, written to that folder when it exits (open it in Chrome's DevTools).
  const prof = args['server-cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args['server-cpu-prof'])}`] : [];
  const child = spawn(process.execPath, [...prof, join(root, 'bin', 'hubwatch.mjs'), 'serve'], {
    env: {
      ...process.env,
      HUBWATCH_DATABASE_URL: url.toString(),
      HUBWATCH_HOST: '127.0.0.1',
      HUBWATCH_PORT: String(port),
      HUBWATCH_REDIS_URL: REDIS_URL,
      HUBWATCH_QUEUE_PREFIX: QUEUE_PREFIX,
      // One client address sends everything here; the per-address limit would answer 429 after 1,200 requests.
      HUBWATCH_RATE_LIMIT_MAX: '0',
      HUBWATCH_LOG_LEVEL: args['log-level'],
      ...(args['no-cache'] ? { HUBWATCH_API_CACHE_MB: '0' } : {}),
    },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hubwatch serve (${label}) exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${origin}/healthz`)).ok) return { label, child, origin, appName, databaseUrl };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`hubwatch serve (${label}) did not answer /healthz within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface LoadResult {
  sent: number;
  ok: number;
  errors: Map<string, number>;
  latencies: number[];
  seconds: number;
  /** Answers served from the response cache (X-Cache: hit). */
  hits: number;
}

/** Offers `rate` requests per second for `seconds`, open loop; latency from each request's scheduled time. */
async function drive(http: HttpPool, paths: string[], rate: number, seconds: number): Promise<LoadResult> {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let ok = 0;
  let hits = 0;
  let last = 0;
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  const fire = (i: number, at: number): Promise<void> =>
    http
      .request({ method: 'GET', path: paths[i % paths.length] })
      .then(async (res) => {
        await res.body.dump();
        if (res.headers['x-cache'] === 'hit') hits++;
        if (res.statusCode === 200) ok++;
        else errors.set(String(res.statusCode), (errors.get(String(res.statusCode)) ?? 0) + 1);
      })
      .catch((e: Error) => void errors.set(e.message, (errors.get(e.message) ?? 0) + 1))
      .finally(() => {
        last = performance.now();
        latencies.push(last - at);
      });
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = (): void => {
      const now = performance.now();
      while (i < total && t0 + i * interval <= now) {
        inflight.push(fire(i, t0 + i * interval));
        i++;
      }
      if (i < total) setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
      else resolve();
    };
    tick();
  });
  await Promise.all(inflight);
  return { sent: total, ok, errors, latencies, seconds: (last - t0) / 1000, hits };
}

const pct = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;

/** User + system CPU seconds of a process so far (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds of the Postgres backends serving connections named `appName`, per backend pid. A backend that
 * ends during a run takes its CPU with it (the server's pool keeps its connections while it is busy).
 */
async function backendCpu(pool: Pool, appName: string): Promise<Map<number, number>> {
  const r = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
    appName,
  ]);
  return new Map(r.rows.map((x) => [x.pid, cpuSeconds(x.pid)]));
}

function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let s = 0;
  for (const [pid, t] of after) if (Number.isFinite(t)) s += t - (before.get(pid) ?? 0);
  return s;
}

interface Row {
  route: string;
  /** CPU milliseconds of the API process per answered request. */
  cpu: number;
  /** CPU milliseconds of its Postgres backends per answered request. */
  dbCpu: number;
  p50: number;
  p99: number;
  max: number;
  rps: number;
  /** Percentage of answers served from the response cache. */
  hitPct: number;
  errors: string;
  load: string;
}

/**
 * Runs `fn` while `--writes` one-row updates of check runs a second go to `databaseUrl` on a connection of their own
 * (a random row each; the value is unchanged, the statement's notification is what counts).
 */
async function withWrites<T>(databaseUrl: string, fn: () => Promise<T>): Promise<T> {
  if (!(WRITES > 0)) return fn();
  const w = createPool(databaseUrl, undefined, 1);
  const maxId = Number((await w.query('SELECT max(id) AS m FROM check_runs')).rows[0].m);
  let stop = false;
  const loop = (async () => {
    const t0 = performance.now();
    for (let n = 1; !stop; n++) {
      await w.query('UPDATE check_runs SET duration_ms = duration_ms WHERE id = $1', [
        1 + Math.floor(Math.random() * maxId),
      ]);
      const wait = t0 + (n * 1000) / WRITES - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  try {
    return await fn();
  } finally {
    stop = true;
    await loop;
    await w.end();
  }
}

/** Drives one route against one server and measures it. */
async function measure(pool: Pool, t: Target, http: HttpPool, route: Route, label: string): Promise<Row> {
  return withWrites(t.databaseUrl, () => measureRoute(pool, t, http, route, label));
}

async function measureRoute(pool: Pool, t: Target, http: HttpPool, route: Route, label: string): Promise<Row> {
  if (WARMUP > 0) await drive(http, route.paths, RATE, WARMUP);
  const cpu0 = cpuSeconds(t.child.pid);
  const db0 = await backendCpu(pool, t.appName);
  const r = await drive(http, route.paths, RATE, SECONDS);
  const cpu = ((cpuSeconds(t.child.pid) - cpu0) * 1000) / r.latencies.length;
  const dbCpu = (cpuDelta(db0, await backendCpu(pool, t.appName)) * 1000) / r.latencies.length;
  const sorted = r.latencies.sort((a, b) => a - b);
  return {
    route: label,
    cpu,
    dbCpu,
    p50: pct(sorted, 50),
    p99: pct(sorted, 99),
    max: sorted[sorted.length - 1],
    rps: r.ok / r.seconds,
    hitPct: (100 * r.hits) / r.latencies.length,
    errors: [...r.errors].map(([k, v]) => `${k}×${v}`).join(' ') || '-',
    load: load(),
  };
}

/** Each route against each server in turn (baseline first), so old and new meet the same moment's load. */
async function loadRoutes(pool: Pool, targets: Target[], list: Route[]): Promise<Row[][]> {
  const https = targets.map((t) => new HttpPool(t.origin, { connections: 128 }));
  const rows: Row[][] = targets.map(() => []);
  try {
    for (const route of list)
      for (const [i, t] of targets.entries()) {
        const row = await measure(
          pool,
          t,
          https[i],
          route,
          targets.length > 1 ? `${t.label} ${route.name}` : route.name,
        );
        rows[i].push(row);
        log(fmt(row));
      }
  } finally {
    await Promise.all(https.map((h) => h.close()));
  }
  return rows;
}

const W = BASELINE ? 53 : 44;
const HEADER = `  ${'route'.padEnd(W)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'req/s'.padStart(7)} ${'cpu ms'.padStart(7)} ${'db cpu'.padStart(7)} ${'hits'.padStart(5)}  errors  loadavg`;
const fmt = (r: Row): string =>
  `  ${r.route.padEnd(W)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${r.max.toFixed(1).padStart(8)} ` +
  `${r.rps.toFixed(0).padStart(7)} ${r.cpu.toFixed(2).padStart(7)} ${r.dbCpu.toFixed(2).padStart(7)} ${`${r.hitPct.toFixed(0)}%`.padStart(5)}  ${r.errors.padEnd(6)}  ${r.load}`;

// ---------------------------------------------------------------------------------------------------------------

/** The CREATE INDEX statements of the findings-index migration and the names they create. */
function migrationIndexes(): { sql: string[]; names: string[] } {
  const text = readFileSync(join(ROOT, 'migrations', FINDINGS_INDEX_MIGRATION), 'utf8').replace(/--.*$/gm, '');
  const sql = text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => /^CREATE INDEX/i.test(s));
  const names = sql.map((s) => /^CREATE INDEX\s+(?:IF NOT EXISTS\s+)?(\w+)/i.exec(s)![1]);
  return { sql, names };
}

/** Applies the migrations of the checkout at `root` to `databaseUrl` (`hubwatch migrate`). */
function migrateWith(root: string, databaseUrl: string): void {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'hubwatch.mjs'), 'migrate'], {
    env: { ...process.env, HUBWATCH_DATABASE_URL: databaseUrl, HUBWATCH_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`hubwatch migrate in ${root} failed: ${r.stderr}`);
}

/** The log lines of a server, counted by message. */
function logSummary(label: string, path: string): void {
  const lines = (() => {
    try {
      return readFileSync(path, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  })();
  const msgs = new Map<string, number>();
  for (const l of lines) {
    const m = /"msg":"([^"]*)"/.exec(l)?.[1] ?? l.slice(0, 100);
    msgs.set(m, (msgs.get(m) ?? 0) + 1);
  }
  if (lines.length)
    log(
      `hubwatch serve (${label}) logged ${lines.length} lines: ${[...msgs].map(([m, n]) => `${JSON.stringify(m)} ×${n}`).join(', ')}`,
    );
}

/**
 * Creates and seeds the database(s), or reuses kept ones: `base` for the baseline checkout (migrated by it) and
 * `name` for this one, a copy of `base` migrated by this checkout. Without a baseline only `name`.
 */
async function prepareDatabases(name: string, base: string | null): Promise<void> {
  const t = performance.now();
  const seeded = base ?? name;
  await adminQuery(`CREATE DATABASE ${seeded}`);
  // The baseline's copy carries the baseline's schema; this checkout's migrations go on the copy made from it.
  if (BASELINE) migrateWith(BASELINE, dbUrl(seeded));
  const pool = createPool(dbUrl(seeded), undefined, 4);
  try {
    if (!BASELINE) await migrate(pool);
    await seed(pool);
    const sizes = (
      await pool.query(
        `SELECT pg_size_pretty(pg_database_size(current_database())) AS db,
                (SELECT count(*) FROM findings) AS findings, (SELECT count(*) FROM check_runs) AS runs`,
      )
    ).rows[0];
    log(
      `seeded in ${((performance.now() - t) / 1000).toFixed(0)} s: ${sizes.findings} findings, ${sizes.runs} check runs, database ${sizes.db}; loadavg ${load()}`,
    );
  } finally {
    await pool.end();
  }
  if (base) {
    const tc = performance.now();
    await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${base}`);
    log(`copied ${base} to ${name} in ${((performance.now() - tc) / 1000).toFixed(0)} s`);
  }
}

async function main(): Promise<void> {
  const fresh = `hubwatch_bench_${randomBytes(4).toString('hex')}`;
  const name = args.database ?? fresh;
  const base = BASELINE ? (args['baseline-database'] ?? `${fresh}_base`) : null;
  const reused = args.database !== undefined;
  const databaseUrl = dbUrl(name);
  const servers: Target[] = [];
  let pool: Pool | null = null;
  let cleaned = false;
  const work = mkdtempSync(join(tmpdir(), 'hubwatch-api-bench-'));
  const serverLog = (label: string): string => join(work, `serve-${label}.log`);
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const s of servers)
      if (s.child.exitCode === null) {
        const exited = new Promise((r) => s.child.once('exit', r));
        s.child.kill('SIGTERM');
        await exited;
      }
    await pool?.end();
    for (const s of servers) logSummary(s.label, serverLog(s.label));
    rmSync(work, { recursive: true, force: true });
    for (const q of Object.values(QUEUE)) {
      const queue = new Queue(q, { connection: redisConnection(REDIS_URL), prefix: QUEUE_PREFIX });
      await queue.obliterate({ force: true });
      await queue.close();
    }
    const dbs = [name, ...(base ? [base] : [])];
    if (!args.keep && !reused) for (const d of dbs) await adminQuery(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
    else log(`kept database(s) ${dbs.join(', ')}`);
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    log(
      `api bench: ${MODELS} models, ${RELEASES} releases, ${FINDINGS} findings; ${RATE} req/s offered, ${SECONDS} s per route (after ${WARMUP} s warm-up); loadavg ${load()}`,
    );
    if (!reused) await prepareDatabases(name, base);
    pool = createPool(databaseUrl, undefined, 4);
    const applied = await migrate(pool);
    if (applied.length) log(`applied ${applied.join(', ')} to ${name}`);
    const filter = args.routes ? new RegExp(args.routes) : null;
    const list = (await routes(pool)).filter((r) => !filter || filter.test(r.name));
    const { sql: createIdx, names } = migrationIndexes();
    const phases =
      args['without-indexes'] && !BASELINE
        ? ['without']
        : args['with-indexes-only'] || BASELINE
          ? ['with']
          : ['without', 'with'];
    if (BASELINE && base)
      servers.push(await startServer(BASELINE, 'old', dbUrl(base), serverLog('old'), `bench-old-${QUEUE_PREFIX}`));
    servers.push(await startServer(ROOT, 'new', databaseUrl, serverLog('new'), `bench-new-${QUEUE_PREFIX}`));
    const results = new Map<string, Row[][]>();
    for (const phase of phases) {
      if (phase === 'without') for (const n of names) await pool.query(`DROP INDEX IF EXISTS ${n}`);
      else
        for (const s of createIdx)
          await pool.query(s.replace(/^CREATE INDEX\s+(?!IF)/i, 'CREATE INDEX IF NOT EXISTS '));
      await pool.query('ANALYZE findings');
      log(`\n== ${phase} the indexes of ${FINDINGS_INDEX_MIGRATION} (${names.join(', ')})`);
      log(`query plans of this checkout (EXPLAIN ANALYZE, BUFFERS), one request per route:`);
      const seq = await explainRoutes(pool, databaseUrl, list);
      log(`  sequential scans of models/releases/check_runs/findings: ${seq}`);
      log(`load: ${RATE} req/s offered per route, ${SECONDS} s each${BASELINE ? `; old = ${BASELINE}` : ''}`);
      log(HEADER);
      results.set(phase, await loadRoutes(pool, servers, list));
    }
    const summary = (title: string, before: Row[], after: Row[]): void => {
      log(`\n== ${title}: p99 ms, server cpu ms/request, db cpu ms/request`);
      for (const [i, b] of before.entries()) {
        const a = after[i];
        const cell = (x: number, y: number, d: number): string => `${x.toFixed(d)} → ${y.toFixed(d)}`.padStart(20);
        log(
          `  ${list[i].name.padEnd(44)} ${cell(b.p99, a.p99, 1)} ${cell(b.cpu, a.cpu, 2)} ${cell(b.dbCpu, a.dbCpu, 2)}`,
        );
      }
    };
    if (results.size === 2)
      summary(
        `without → with the indexes of ${FINDINGS_INDEX_MIGRATION}`,
        results.get('without')![0],
        results.get('with')![0],
      );
    if (BASELINE) summary('old → new', results.get('with')![0], results.get('with')![1]);
  } finally {
    await cleanup();
  }
}

await main();
