import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

async function pgAnswers(url: string): Promise<boolean> {
  const u = new URL(url);
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Makes sure Postgres and Redis answer; when one does not, runs infra/dev-services.sh to start it. */
export async function ensureServices(databaseUrl: string, redisUrl: string): Promise<void> {
  if ((await pgAnswers(databaseUrl)) && (await redisAnswers(redisUrl))) return;
  const script = join(dirname(fileURLToPath(import.meta.url)), 'dev-services.sh');
  const r = spawnSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`could not start Postgres/Redis (infra/dev-services.sh exited ${r.status})`);
  if (!(await pgAnswers(databaseUrl))) throw new Error(`Postgres does not answer at ${new URL(databaseUrl).host}`);
  if (!(await redisAnswers(redisUrl))) throw new Error(`Redis does not answer at ${redisUrl}`);
}
