import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../../lib/config.ts';
import type { Pool } from '../../lib/db.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Queues } from '../../lib/queues.ts';
import { problemHandler, notFoundHandler } from './problem.ts';
import { healthRoutes } from './routes/health.ts';
import { modelRoutes } from './routes/models.ts';
import { pageRoutes } from './routes/pages.ts';
import { scanRoutes } from './routes/scans.ts';
import { webhookRoutes } from './routes/webhook.ts';

export interface AppDeps {
  pool: Pool;
  queues: Queues;
  cfg: Config;
  log: Logger;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

/** Builds the HTTP app (API, webhook, pages) without listening; tests call inject() on it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }) as FastifyBaseLogger,
    trustProxy: true,
    bodyLimit: 1 << 20,
  });
  app.decorate('deps', deps);
  app.setErrorHandler(problemHandler);
  app.setNotFoundHandler(notFoundHandler);
  await app.register(healthRoutes);
  await app.register(webhookRoutes);
  await app.register(modelRoutes, { prefix: '/v1' });
  await app.register(scanRoutes, { prefix: '/v1' });
  await app.register(pageRoutes);
  return app;
}
