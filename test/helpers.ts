/**
 * Integration-test helpers: a fresh database per test file cloned from a migrated template, a unique queue
 * prefix per suite (obliterated afterwards), and configs pointing at the real Postgres and Redis on loopback.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import type { Config } from '../lib/config.ts';
import { loadConfig } from '../lib/config.ts';
import { createPool } from '../lib/db.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../lib/migrate.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';

const ADMIN_URL = process.env.HUBWATCH_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The URL of database `name` on the test Postgres server. */
export function dbUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs one statement (CREATE/DROP DATABASE) on the test Postgres server's admin database. */
export async function adminQuery(sql: string): Promise<void> {
  await admin((c) => c.query(sql));
}

/**
 * The migrated template database, named after the migrations it holds (and lib/migrate.ts, which applies them):
 * test processes running at the same time share it, and one with other migrations (a branch, a new migration being
 * written) gets its own. It is built under another name and renamed when complete, so a clone never sees a
 * half-migrated template. Templates of other migration sets are dropped when no clone is reading them.
 */
let templateReady: Promise<string> | null = null;
function ensureTemplate(): Promise<string> {
  return (templateReady ??= admin(async (c) => {
    const dir = join(import.meta.dirname, '../migrations');
    // The migrations and the code that applies them decide what the template holds.
    const hash = createHash('sha256').update(readFileSync(join(import.meta.dirname, '../lib/migrate.ts')));
    for (const f of readdirSync(dir).sort())
      hash
        .update(f)
        .update('\0')
        .update(readFileSync(join(dir, f)));
    const name = `hubwatch_tpl_${hash.digest('hex').slice(0, 12)}`;
    const exists = async (): Promise<boolean> =>
      (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    if (await exists()) return name;
    await c.query('SELECT pg_advisory_lock(724613002)');
    try {
      if (await exists()) return name;
      const building = `${name}_build`;
      await c.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${building}`);
      const pool = createPool(dbUrl(building));
      try {
        await migrate(pool);
      } finally {
        await pool.end();
      }
      await c.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      const others = await c.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE (datname LIKE 'hubwatch\\_tpl\\_%' AND datname <> $1)
            OR datname = 'hubwatch_test_template'`,
        [name],
      );
      for (const { datname } of others.rows) await c.query(`DROP DATABASE IF EXISTS ${datname}`).catch(() => undefined);
      return name;
    } finally {
      await c.query('SELECT pg_advisory_unlock(724613002)');
    }
  }));
}

export interface TestEnv {
  cfg: Config;
  databaseUrl: string;
  queuePrefix: string;
  /** Drops the database and obliterates the queues. */
  cleanup(): Promise<void>;
}

/** A fresh migrated database and a unique queue prefix; `overrides` are merged into the config. */
export async function testEnv(overrides: Partial<Config> = {}): Promise<TestEnv> {
  const template = await ensureTemplate();
  const name = `hubwatch_test_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const queuePrefix = `hwtest-${randomBytes(4).toString('hex')}`;
  const cfg: Config = {
    ...loadConfig({}),
    databaseUrl: dbUrl(name),
    queuePrefix,
    port: 0,
    logLevel: 'silent',
    ...overrides,
  };
  return {
    cfg,
    databaseUrl: cfg.databaseUrl,
    queuePrefix,
    async cleanup() {
      for (const q of Object.values(QUEUE)) {
        const queue = new Queue(q, { connection: redisConnection(cfg.redisUrl), prefix: queuePrefix });
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

export const silentLog = createLogger('silent');

/** Resolves once no job of the given queues is waiting, delayed, prioritized or running (their job counts). */
export async function queuesIdle(queues: Queue[], timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      for (const q of queues) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        if (Object.values(counts).some((n) => n > 0)) return false;
      }
      return true;
    },
    timeoutMs,
    'idle queues',
  );
}

/** Polls `fn` every `intervalMs` until it returns a truthy value or the timeout passes. */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
  what = 'condition',
  intervalMs = 150,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Waits until the app's response cache has counted every change committed so far. A test that writes to Postgres
 * directly (as a worker would) and then reads again through the app a URL it read before calls this in between: the
 * app serves another process's write once its notification arrives, a few milliseconds after the commit.
 */
export async function cacheCaughtUp(app: FastifyInstance): Promise<void> {
  await app.responseCache?.feed.caughtUp();
}

/** A query as sent to Postgres: its text and parameters. */
export interface RecordedQuery {
  text: string;
  values: unknown[];
}

/**
 * Records every query sent through `pool.query` (plain text or a query config, as a named statement is) into the
 * returned array, which the caller may empty between steps: to explain what a route runs, with its own parameters.
 */
export function recordQueries(pool: pg.Pool): RecordedQuery[] {
  const recorded: RecordedQuery[] = [];
  type Sql = string | { text: string; values?: unknown[] };
  const query = pool.query.bind(pool) as (q: Sql, values?: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: typeof query }).query = (q, values) => {
    recorded.push(typeof q === 'string' ? { text: q, values: values ?? [] } : { text: q.text, values: q.values ?? [] });
    return query(q, values);
  };
  return recorded;
}
