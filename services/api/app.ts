import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../../lib/config.ts';
import type { Pool } from '../../lib/db.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Queues } from '../../lib/queues.ts';
import { registerApiDocs } from './plugins/api-docs.ts';
import { registerAuth } from './plugins/auth.ts';
import { registerEtag } from './plugins/etag.ts';
import { registerMethodNotAllowed } from './plugins/method-not-allowed.ts';
import { registerOpenApi } from './plugins/openapi.ts';
import { problemHandler, notFoundHandler } from './problem.ts';
import { findingRoutes } from './routes/findings.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { modelRoutes } from './routes/models.ts';
import { muteRoutes } from './routes/mutes.ts';
import { releaseRoutes } from './routes/releases.ts';
import { watchRoutes } from './routes/watches.ts';
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
  await registerMethodNotAllowed(app);
  await registerAuth(app);
  await registerEtag(app);
  await registerOpenApi(app);
  await registerApiDocs(app);
  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(webhookRoutes);
  await app.register(modelRoutes, { prefix: '/v1' });
  await app.register(findingRoutes, { prefix: '/v1' });
  await app.register(releaseRoutes, { prefix: '/v1' });
  await app.register(watchRoutes, { prefix: '/v1' });
  await app.register(muteRoutes, { prefix: '/v1' });
  await app.register(scanRoutes, { prefix: '/v1' });
  await app.register(pageRoutes);
  return app;
}
