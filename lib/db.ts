import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/**
 * How long an idle pooled connection is kept. node-postgres closes them after 10 s by default, but a fresh Postgres
 * backend is slow for its first queries (on the 2-core development machine ~16 ms of CPU per query for its first ~50
 * heavy ones: catalog caches, and the named statements prepared again), so a pool that churns keeps paying that.
 */
export const DB_IDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * Session settings of every hubwatch connection (sent in the startup packet: no extra round trip). A connection
 * string's own `options` replace them.
 *
 * `enable_memoize=off`: hubwatch's reads are short lookups joined by primary key, where the planner often puts a
 * Memoize node over each inner index scan. Postgres 15 sizes (and zeroes) each Memoize hash table for the planner's
 * estimate of distinct keys when the executor starts, up to `hash_mem`, on every execution, however few rows the
 * query then reads: the newest-findings search (51 rows) spent 12-17 ms of backend CPU per request there and 0.4 ms
 * running, 0.4 ms in all with Memoize off (perf: `__memset` under ExecInitMemoize; bench/api-bench.ts).
 */
export const DB_SESSION_OPTIONS = '-c enable_memoize=off';

/**
 * A pg pool with a bounded size; its clients' errors (e.g. Postgres restarted) are never uncaught exceptions. Idle
 * connections are kept `idleTimeoutMillis` (5 minutes) and do not keep the process alive (`allowExitOnIdle`): a
 * script or test that forgets `pool.end()` still exits rather than waiting them out; `pool.end()` closes them at once.
 */
export function createPool(
  connectionString: string,
  onError?: (e: Error) => void,
  max = 10,
  idleTimeoutMillis = DB_IDLE_TIMEOUT_MS,
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    options: DB_SESSION_OPTIONS,
    max,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis,
    allowExitOnIdle: true,
  });
  pool.on('error', (e) => onError?.(e));
  // pg-pool listens for a client's errors only while it is idle or inside pool.query; a connection cut while a
  // client is checked out, or a second error from a socket already reported, would otherwise be an uncaught
  // exception (seen when Postgres restarts under load). Caught here only: idle errors still reach onError through
  // the pool, and a cut under a checked-out client surfaces as its next query's rejection.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Lends a client for `fn`. A connection cut while it is out (Postgres restarting) is recorded, so the cut surfaces as
 * the next query's rejection and the client is released with the error: destroyed, not reused. (createPool's
 * listener catches whatever its socket reports after that.)
 */
export async function withClient<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let cut: Error | undefined;
  const onError = (e: Error): void => void (cut = e);
  c.on('error', onError);
  try {
    return await fn(c);
  } finally {
    c.off('error', onError);
    c.release(cut);
  }
}

/** Runs fn in a transaction; rolls back on any throw. */
export async function withTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (c) => {
    await c.query('BEGIN');
    try {
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
}

/** Creates the database named in the URL if it does not exist (connects to the `postgres` database to do it). */
export async function ensureDatabase(connectionString: string): Promise<void> {
  const u = new URL(connectionString);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!name) return;
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) {
      await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((e: { code?: string }) => {
        // created concurrently by another process: 42P04 duplicate_database, or 23505 from the catalog index
        if (e.code !== '42P04' && e.code !== '23505') throw e;
      });
    }
  } finally {
    await c.end();
  }
}
