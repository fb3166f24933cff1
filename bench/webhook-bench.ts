/**
 * Webhook ingestion on loopback: `hubwatch serve` in a child process (its own database on the configured
 * Postgres, its own queue prefix on the configured Redis, no workers), driven by keep-alive HTTP clients at a
 * fixed concurrency with duplicate deliveries (replays of earlier ones) and wrong secrets mixed in. Prints the
 * sustained deliveries per second, p50/p99/max latency per status, and the books: every 202 stored (rows
 * counted), every new release enqueued exactly once (BullMQ job per release, outbox emptied), nothing stored for a 401.
 *
 *   npm run bench:webhooks -- [--deliveries 6000] [--concurrency 50] [--duplicates 0.1] [--bad-secrets 0.05]
 *                             [--log-level info] [--pool 10] [--profile DIR] [--rounds 3]
 *                             [--compare [--baseline-dir DIR | --baseline-ref REF]]
 *
 * --rounds N runs N times (with --compare, N times each server, alternating), every run printed, then the medians.
 * --compare runs two servers in one invocation: first the server in `--baseline-dir` (a checkout, e.g. a
 * `git worktree` of an older commit with its own node_modules) or else of `--baseline-ref` (default d8b9a3e, the
 * last commit before the outbox: a transaction of 5–6 statements per delivery, the enqueue awaited in the request,
 * two info lines logged per request), extracted with `git archive` into a temp folder; then this checkout's.
 * Each run also prints CPU milliseconds per delivery of the server, of its Postgres backends and of the client,
 * which move less with the machine's other load than deliveries/s do.
 * --profile DIR writes the server's V8 CPU profile there (open it in Chrome DevTools or speedscope).
 * The per-address rate limits are turned off for the run (every request comes from 127.0.0.1).
 */
import { execSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import pg from 'pg';
import { Pool as HttpPool } from 'undici';
import { loadConfig } from '../lib/config.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';
import { freePort } from '../test/own-services.ts';

const { values: args } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '6000' },
    warmup: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '50' },
    duplicates: { type: 'string', default: '0.1' },
    'bad-secrets': { type: 'string', default: '0.05' },
    'log-level': { type: 'string', default: 'info' },
    pool: { type: 'string', default: '' },
    compare: { type: 'boolean', default: false },
    'baseline-ref': { type: 'string', default: 'd8b9a3e' },
    'baseline-dir': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    profile: { type: 'string' },
  },
});

const base = loadConfig();
const SECRET = 'bench-webhook-secret';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface RunOptions {
  label: string;
  /** Folder of the hubwatch checkout whose server runs. */
  root: string;
  logLevel: string;
  pool: string;
}

interface Sample {
  status: number;
  ms: number;
}

function adminUrl(db: string): string {
  const u = new URL(base.databaseUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl('postgres') });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Starts `hubwatch serve` on a free port and resolves with its URL once /healthz answers. */
async function serve(root: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const prof = args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'services/cli.ts', 'serve'], {
    cwd: root,
    env: { ...process.env, ...env, HUBWATCH_HOST: '127.0.0.1', HUBWATCH_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => void (tail = (tail + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`hubwatch serve exited (${child.exitCode}): ${tail}`);
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) return { child, url };
    if (i > 600) throw new Error(`hubwatch serve did not answer on ${url}: ${tail}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function payload(i: number, seed: string): string {
  return JSON.stringify({
    event: { action: 'update', scope: 'repo.content' },
    repo: {
      type: 'model',
      name: `bench-${seed}/model-${i % 997}`,
      id: String(i),
      private: false,
      headSha: (seed + i.toString(16)).padStart(40, '0'),
      url: { web: 'https://huggingface.co/x', api: 'https://huggingface.co/api/models/x' },
      owner: { id: 'o' },
    },
    updatedRefs: [{ ref: 'refs/heads/main', oldSha: null, newSha: (seed + i.toString(16)).padStart(40, '0') }],
    webhook: { id: 'bench', version: 3 },
  });
}

/**
 * CPU seconds used so far by the server process and by the Postgres backends of the bench's database (found by
 * their process title, which names the database), read from /proc; null where /proc is not Linux's.
 */
function cpuSeconds(serverPid: number, db: string): { server: number; postgres: number } | null {
  const ticks = (pid: string): number => {
    // utime and stime, fields 14 and 15 (counted after the parenthesised command name, which may hold spaces), in
    // clock ticks of 1/100 s (USER_HZ on Linux).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  try {
    let postgres = 0;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(` ${db} `)) postgres += ticks(pid);
      } catch {
        // a process that ended meanwhile
      }
    }
    return { server: ticks(String(serverPid)), postgres };
  } catch {
    return null;
  }
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function runOnce(o: RunOptions): Promise<Record<string, unknown>> {
  const n = Number(args.deliveries);
  const warmup = Number(args.warmup);
  const conc = Number(args.concurrency);
  const dupShare = Number(args.duplicates);
  const badShare = Number(args['bad-secrets']);
  const seed = randomBytes(3).toString('hex');
  const db = `hubwatch_bench_webhooks_${seed}`;
  const prefix = `hwbench-${seed}`;
  // The machine's load average (1 min) as the run starts: figures from a shared machine mean little without it.
  const load = +loadavg()[0].toFixed(1);
  await admin(`CREATE DATABASE ${db}`);
  const { child, url } = await serve(o.root, {
    HUBWATCH_DATABASE_URL: adminUrl(db),
    HUBWATCH_REDIS_URL: base.redisUrl,
    HUBWATCH_QUEUE_PREFIX: prefix,
    HUBWATCH_WEBHOOK_SECRET: SECRET,
    HUBWATCH_LOG_LEVEL: o.logLevel,
    HUBWATCH_RATE_LIMIT_MAX: '0',
    HUBWATCH_WEBHOOK_RATE_LIMIT_MAX: '0',
    HUBWATCH_AUTH_FAILURE_LIMIT: String(1e9),
    ...(o.pool ? { HUBWATCH_DB_POOL_MAX: o.pool } : {}),
  });
  const http = new HttpPool(url, { connections: conc, pipelining: 1 });
  // The plan: each delivery is new, a replay of an earlier new one, or a wrong secret.
  const plan: { body: string; secret: string; kind: 'new' | 'dup' | 'bad' }[] = [];
  let fresh = 0;
  for (let i = 0; i < warmup + n; i++) {
    const r = (i * 7919) % 1000;
    if (fresh > 0 && r < dupShare * 1000)
      plan.push({ body: payload((i * 31) % fresh, seed), secret: SECRET, kind: 'dup' });
    else if (r >= 1000 - badShare * 1000) plan.push({ body: payload(i, seed), secret: 'wrong', kind: 'bad' });
    else plan.push({ body: payload(fresh++, seed), secret: SECRET, kind: 'new' });
  }
  const samples: Sample[] = [];
  let next = 0;
  let t0 = 0;
  // Set by the client loop that starts the measured window (an object: a closure's assignment is not narrowed away).
  const cpu0: { server?: number; postgres?: number; client?: NodeJS.CpuUsage } = {};
  const errors: string[] = [];
  const clientLoop = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= plan.length) return;
      if (i === warmup) {
        t0 = performance.now();
        Object.assign(cpu0, cpuSeconds(child.pid!, db), { client: process.cpuUsage() });
      }
      const d = plan[i];
      const start = performance.now();
      try {
        const res = await http.request({
          method: 'POST',
          path: '/webhooks/huggingface',
          headers: { 'content-type': 'application/json', 'x-webhook-secret': d.secret },
          body: d.body,
        });
        await res.body.dump();
        if (i >= warmup) samples.push({ status: res.statusCode, ms: performance.now() - start });
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: conc }, clientLoop));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(child.pid!, db);
  const clientCpu = process.cpuUsage(cpu0.client);
  // CPU milliseconds per delivery in the measured window: what a delivery costs, less sensitive to the machine's
  // other load than deliveries/s. The client (this process, keep-alive HTTP) is part of the bench, not of hubwatch.
  const perDelivery = (a: number | undefined, b: number | undefined): number | null =>
    a === undefined || b === undefined ? null : +(((b - a) * 1000) / (n || 1)).toFixed(3);
  const cpuMs = {
    serverCpuMs: perDelivery(cpu0.server, cpu1?.server),
    postgresCpuMs: perDelivery(cpu0.postgres, cpu1?.postgres),
    clientCpuMs: +((clientCpu.user + clientCpu.system) / 1000 / (n || 1)).toFixed(3),
  };
  await http.close();

  // The books, from Postgres and Redis once the outbox has caught up (the API keeps running for that).
  const pool = new pg.Pool({ connectionString: adminUrl(db), max: 2 });
  const queue = new Queue(QUEUE.release, { connection: redisConnection(base.redisUrl), prefix });
  const accepted = plan.filter((p) => p.kind !== 'bad').length;
  const newReleases = plan.filter((p) => p.kind === 'new').length;
  let outbox = -1;
  for (let tries = 0; tries < 200; tries++) {
    outbox = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM release_outbox').then(
      (r) => r.rows[0].n,
      () => 0, // the baseline has no outbox: it enqueued in the request
    );
    if (outbox === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const rows = (
    await pool.query<{ deliveries: number; releases: number; bad: number }>(
      `SELECT (SELECT count(*)::int FROM webhook_deliveries) AS deliveries, (SELECT count(*)::int FROM releases) AS releases,
              (SELECT count(*)::int FROM webhook_deliveries WHERE outcome NOT IN ('release', 'duplicate')) AS bad`,
    )
  ).rows[0];
  const jobs = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
  const jobTotal = Object.values(jobs).reduce((a, b) => a + b, 0);
  const ids = new Set((await queue.getJobs(['waiting', 'prioritized'], 0, -1)).map((j) => j.id));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await queue.close();
  // Every queue the server touched (it registers all of them), not only the release queue counted above.
  for (const name of Object.values(QUEUE)) {
    const q = new Queue(name, { connection: redisConnection(base.redisUrl), prefix });
    await q.obliterate({ force: true });
    await q.close();
  }
  await pool.end();
  await admin(`DROP DATABASE ${db} WITH (FORCE)`);

  const byStatus = (s: number): number[] => samples.filter((x) => x.status === s).map((x) => x.ms);
  const all = samples.map((x) => x.ms);
  const ok = byStatus(202);
  const unauth = byStatus(401);
  const measuredAccepted = plan.slice(warmup).filter((p) => p.kind !== 'bad').length;
  return {
    run: o.label,
    load,
    logLevel: o.logLevel,
    dbPool: o.pool || 'default',
    concurrency: conc,
    measured: samples.length,
    seconds: +seconds.toFixed(2),
    deliveriesPerSecond: Math.round(samples.length / seconds),
    p50ms: +pct(all, 50).toFixed(1),
    p99ms: +pct(all, 99).toFixed(1),
    maxMs: +Math.max(...all).toFixed(1),
    ...cpuMs,
    '202': ok.length,
    '202p99ms': +pct(ok, 99).toFixed(1),
    '401': unauth.length,
    other: samples.filter((x) => x.status !== 202 && x.status !== 401).length,
    clientErrors: errors.length,
    // Books over warm-up + measured deliveries.
    lost: accepted - rows.deliveries,
    expectedAccepted: accepted,
    measuredAccepted,
    storedDeliveries: rows.deliveries,
    storedReleases: rows.releases,
    expectedReleases: newReleases,
    releaseJobs: jobTotal,
    distinctJobIds: ids.size,
    doubleEnqueued: jobTotal - rows.releases,
    outboxLeft: outbox,
  };
}

const runs: RunOptions[] = [];
let baselineDir: string | null = null;
if (args.compare) {
  const ref = args['baseline-ref']!;
  let root = args['baseline-dir'];
  if (!root) {
    root = baselineDir = mkdtempSync(join(tmpdir(), 'hubwatch-baseline-'));
    execSync(`git archive ${ref} | tar -x -C ${baselineDir}`, { cwd: ROOT, stdio: 'inherit' });
    symlinkSync(join(ROOT, 'node_modules'), join(baselineDir, 'node_modules'));
  }
  runs.push({ label: `baseline ${args['baseline-dir'] ?? ref}`, root, logLevel: 'info', pool: '' });
}
runs.push({
  label: args.compare ? 'this checkout' : 'run',
  root: ROOT,
  logLevel: args['log-level']!,
  pool: args.pool!,
});
// Alternating old and new, so a change in the machine's load weighs on both alike.
const rounds = Math.max(1, Number(args.rounds));
const results: Record<string, unknown>[] = [];
for (let round = 0; round < rounds; round++) {
  for (const r of runs) {
    const res = await runOnce(r);
    results.push(res);
    process.stdout.write(`${JSON.stringify(res)}\n`);
  }
}
if (baselineDir) rmSync(baselineDir, { recursive: true, force: true });
if (results.length > 1) console.table(results.map((r) => ({ ...r })));
if (rounds > 1) {
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const of = (label: string, k: string): number =>
    median(results.filter((r) => r.run === label).map((r) => r[k] as number));
  console.table(
    runs.map((r) => ({
      run: r.label,
      rounds,
      deliveriesPerSecond: of(r.label, 'deliveriesPerSecond'),
      p50ms: of(r.label, 'p50ms'),
      p99ms: of(r.label, 'p99ms'),
      serverCpuMs: of(r.label, 'serverCpuMs'),
      postgresCpuMs: of(r.label, 'postgresCpuMs'),
    })),
  );
}
const bad = results.filter((r) => r.lost !== 0 || r.doubleEnqueued !== 0 || r.outboxLeft !== 0 || r.other !== 0);
if (bad.length) {
  process.stderr.write(
    'webhook bench: books do not balance (lost, double-enqueued, outbox left or unexpected status)\n',
  );
  process.exitCode = 1;
}
