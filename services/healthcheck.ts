import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../lib/config.ts';
import { withTimeout } from '../lib/timeout.ts';

const LIMIT_MS = 3000;

async function answers(what: () => Promise<unknown>): Promise<boolean> {
  try {
    await withTimeout(what(), LIMIT_MS, () => Promise.reject(new Error('timed out')));
    return true;
  } catch {
    return false;
  }
}

async function postgresAnswers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: LIMIT_MS });
  c.on('error', () => undefined);
  try {
    return await answers(async () => {
      await c.connect();
      await c.query('SELECT 1');
    });
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    return await answers(async () => {
      await r.connect();
      if ((await r.ping()) !== 'PONG') throw new Error('no PONG');
    });
  } finally {
    r.disconnect();
  }
}

/**
 * `hubwatch healthcheck [--url URL]`, for container health checks: with `--url`, 0 when it answers 2xx (the API's
 * /readyz); without, 0 when Postgres and Redis answer (roles with no HTTP port: worker, runner). 1 otherwise,
 * 2 on a usage or configuration error. Each probe gives up after 3 s.
 */
export async function runHealthcheck(args: string[], env?: Parameters<typeof loadConfig>[0]): Promise<number> {
  let url: string | undefined;
  try {
    url = parseArgs({ args, options: { url: { type: 'string' } } }).values.url;
  } catch (e) {
    process.stderr.write(`hubwatch healthcheck: ${(e as Error).message}\n`);
    return 2;
  }
  if (url !== undefined) {
    const target = url;
    return (await answers(async () => {
      const r = await fetch(target, { signal: AbortSignal.timeout(LIMIT_MS) });
      if (!r.ok) throw new Error(`answered ${r.status}`);
    }))
      ? 0
      : 1;
  }
  let cfg;
  try {
    cfg = env ? loadConfig(env) : loadConfig();
  } catch (e) {
    process.stderr.write(`hubwatch healthcheck: ${(e as Error).message}\n`);
    return 2;
  }
  const [db, redis] = await Promise.all([postgresAnswers(cfg.databaseUrl), redisAnswers(cfg.redisUrl)]);
  if (!db || !redis) process.stderr.write(`postgres ${db ? 'ok' : 'down'}, redis ${redis ? 'ok' : 'down'}\n`);
  return db && redis ? 0 : 1;
}
