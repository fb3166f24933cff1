import type { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../lib/config.ts';
import { createPool, ensureDatabase } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import type { Logger } from '../lib/logger.ts';
import { migrate } from '../lib/migrate.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import type { CheckEnv } from '../lib/pipeline/deps.ts';
import { createQueues, QUEUE } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { startCheckWorker } from '../workers/check.worker.ts';
import { closeWorker } from '../workers/close-worker.ts';
import { startNotifyWorker } from '../workers/notify.worker.ts';
import { startPollWorker } from '../workers/poll.worker.ts';
import { startReconciler } from '../workers/reconciler.ts';
import { startReleaseWorker } from '../workers/release.worker.ts';
import { buildApp } from './api/app.ts';
import { tensorEnv } from './tensor-env.ts';

export interface Roles {
  api?: boolean;
  workers?: boolean;
  runner?: boolean;
}

export interface Stack {
  deps: PipelineDeps;
  app: FastifyInstance | null;
  url: string | null;
  /**
   * Stops taking work; running jobs may finish for `graceMs` (default HUBWATCH_SHUTDOWN_GRACE_MS, 25 s), then their
   * checks are cancelled.
   */
  close(graceMs?: number): Promise<void>;
}

/** Creates the database if needed and applies migrations (serialised across processes). */
export async function prepareDatabase(cfg: Config, log: Logger): Promise<Pool> {
  await ensureDatabase(cfg.databaseUrl);
  const pool = createPool(cfg.databaseUrl, (e) => log.warn({ err: e }, 'idle database client error'), cfg.dbPoolMax);
  const applied = await migrate(pool);
  if (applied.length) log.info({ applied }, 'migrations applied');
  return pool;
}

/**
 * Starts the parts of hubwatch a process runs: the HTTP API, the CPU workers (release, checks, notify, poller,
 * reconciler) and/or the runner (tensor queue). close() shuts down gracefully: stop taking work, finish the
 * jobs in hand, then close connections.
 */
export async function startStack(cfg: Config, log: Logger, roles: Roles, env: CheckEnv = {}): Promise<Stack> {
  const pool = await prepareDatabase(cfg, log);
  const queues: Queues = createQueues(cfg.redisUrl, cfg.queuePrefix);
  const deps: PipelineDeps = { pool, queues, cfg, log };
  const workers: Worker[] = [];
  let reconciler: { close(): Promise<void> } | null = null;
  if (roles.workers) {
    workers.push(startReleaseWorker(deps), startCheckWorker(deps, QUEUE.checks), startNotifyWorker(deps));
    reconciler = startReconciler(deps);
    // Always polled: watch rules (POST /v1/watches) can add authors and repos at any time.
    workers.push(await startPollWorker(deps, cfg.watchAuthors));
  }
  const runnerEnv: CheckEnv | null = roles.runner ? { ...tensorEnv(cfg), ...env } : null;
  if (runnerEnv) workers.push(startCheckWorker(deps, QUEUE.tensor, runnerEnv, 1));
  let app: FastifyInstance | null = null;
  let url: string | null = null;
  if (roles.api) {
    app = await buildApp(deps);
    await app.listen({ host: cfg.host, port: cfg.port });
    const addr = app.server.address();
    url =
      typeof addr === 'object' && addr
        ? `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${addr.port}`
        : null;
  }
  let closing: Promise<void> | null = null;
  const close = (graceMs = cfg.shutdownGraceMs): Promise<void> =>
    (closing ??= (async () => {
      await reconciler?.close();
      await app?.close();
      await Promise.all(workers.map((w) => closeWorker(w, graceMs)));
      await runnerEnv?.close?.();
      await queues.close();
      await pool.end();
    })());
  return { deps, app, url, close };
}
