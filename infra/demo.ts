import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import pg from 'pg';
import { FIXTURES, buildFixture } from './fixtures/fixtures.ts';
import { startHubMirror } from './hub-mirror/server.ts';
import { listFindings } from '../lib/check-runs.repo.ts';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';
import { findRelease } from '../lib/releases.repo.ts';
import type { Release } from '../lib/releases.repo.ts';
import { ensureServices } from './dev-services.ts';
import { startStack } from '../services/processes.ts';

const DEMO_DB = 'hubwatch_demo';
const DEMO_PREFIX = 'hubwatch-demo';

async function freePort(preferred: number): Promise<number> {
  const tryPort = (p: number): Promise<number> =>
    new Promise((res, rej) => {
      const s = createServer()
        .once('error', rej)
        .listen(p, '127.0.0.1', () => {
          const port = (s.address() as { port: number }).port;
          s.close(() => res(port));
        });
    });
  return tryPort(preferred).catch(() => tryPort(0));
}

/** Drops and recreates the demo database and empties the demo queues, so every demo run starts clean. */
async function freshState(databaseUrl: string, redisUrl: string): Promise<void> {
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${DEMO_DB} WITH (FORCE)`);
  } finally {
    await c.end();
  }
  for (const name of Object.values(QUEUE)) {
    const q = new Queue(name, { connection: redisConnection(redisUrl), prefix: DEMO_PREFIX });
    await q.obliterate({ force: true });
    await q.close();
  }
}

async function waitForVerdict(pool: pg.Pool, repo: string, sha: string, timeoutMs: number): Promise<Release> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await findRelease(pool, repo, sha);
    if (r && (r.status === 'done' || r.status === 'failed')) return r;
    if (Date.now() > until)
      throw new Error(`no verdict for ${repo}@${sha} after ${timeoutMs} ms (status ${r?.status ?? 'not received'})`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/**
 * `npm run demo`: starts Postgres/Redis if needed, the API, workers and runner, and the local Hub mirror with the
 * fixture repos; publishes every fixture revision through real webhooks, waits for the verdicts and prints them.
 * With --keep everything keeps serving until interrupted; --verbose logs at HUBWATCH_LOG_LEVEL instead of warn.
 */
export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { keep: { type: 'boolean' }, port: { type: 'string' }, verbose: { type: 'boolean' } },
  });
  const base = loadConfig();
  await ensureServices(base.databaseUrl, base.redisUrl);
  const dbUrl = new URL(base.databaseUrl);
  dbUrl.pathname = `/${DEMO_DB}`;
  await freshState(dbUrl.toString(), base.redisUrl);
  const port = await freePort(values.port ? Number(values.port) : 8080);
  const secret = randomBytes(16).toString('hex');
  const work = mkdtempSync(join(tmpdir(), 'hubwatch-demo-'));
  const mirror = await startHubMirror({
    root: join(work, 'mirror'),
    webhook: { url: `http://127.0.0.1:${port}/webhooks/huggingface`, secret },
  });
  const cfg = {
    ...base,
    databaseUrl: dbUrl.toString(),
    queuePrefix: DEMO_PREFIX,
    hubUrl: mirror.url,
    webhookSecret: secret,
    // API writes (rechecks, watches, mutes) need a token: the environment's, or one made for this run and printed.
    apiToken: base.apiToken ?? randomBytes(16).toString('hex'),
    host: '127.0.0.1',
    port,
    publicUrl: `http://127.0.0.1:${port}`,
    watchAuthors: [],
  };
  const log = createLogger(values.verbose ? cfg.logLevel : 'warn');
  const stack = await startStack(cfg, log, { api: true, workers: true, runner: true });
  const rows: { repo: string; sha: string; verdict: string; codes: string }[] = [];
  try {
    process.stdout.write(`hub mirror:   ${mirror.url}\nwebhook URL:  ${cfg.publicUrl}/webhooks/huggingface\n`);
    process.stdout.write(`API docs:     ${cfg.publicUrl}/docs   (OpenAPI: ${cfg.publicUrl}/openapi.json)\n`);
    process.stdout.write('\n');
    for (const fx of FIXTURES) {
      for (let i = 0; i < fx.revisions.length; i++) {
        const dir = join(work, 'build', fx.repo.replace('/', '--'), String(i));
        buildFixture(fx, i, dir);
        const { sha, webhookStatus } = await mirror.publish(fx.repo, dir, { message: fx.revisions[i].label });
        if (webhookStatus !== 202) throw new Error(`webhook for ${fx.repo}@${sha} answered ${webhookStatus}`);
        const rel = await waitForVerdict(stack.deps.pool, fx.repo, sha, 120_000);
        const codes = [...new Set((await listFindings(stack.deps.pool, rel.id)).map((f) => f.code))].join(' ') || '—';
        rows.push({ repo: fx.repo, sha: sha.slice(0, 12), verdict: rel.verdict ?? rel.status, codes });
      }
    }
    const w = Math.max(...rows.map((r) => r.repo.length));
    process.stdout.write(`${'repo'.padEnd(w)}  ${'sha'.padEnd(12)}  ${'verdict'.padEnd(8)}  findings\n`);
    for (const r of rows) process.stdout.write(`${r.repo.padEnd(w)}  ${r.sha}  ${r.verdict.padEnd(8)}  ${r.codes}\n`);
    process.stdout.write(`\nstatus pages:  ${cfg.publicUrl}/   (feed: ${cfg.publicUrl}/feed.xml)\n`);
    for (const fx of FIXTURES) process.stdout.write(`  ${cfg.publicUrl}/models/${fx.repo}\n`);
    process.stdout.write('release pages:\n');
    for (const r of rows) process.stdout.write(`  ${cfg.publicUrl}/models/${r.repo}/releases/${r.sha}\n`);
    if (values.keep) {
      // Printed only when serving on, for the person trying the API: the one time a secret is shown on purpose.
      process.stdout.write(`\nAPI token (Authorization: Bearer …, for writes): ${cfg.apiToken}\n`);
      process.stdout.write('serving until interrupted (Ctrl-C)…\n');
      await new Promise<void>((res) => {
        process.once('SIGINT', res);
        process.once('SIGTERM', res);
      });
    }
    return 0;
  } finally {
    await stack.close();
    await mirror.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDemo(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: Error) => {
      process.stderr.write(`demo failed: ${e.stack ?? e.message}\n`);
      process.exitCode = 1;
    },
  );
}
