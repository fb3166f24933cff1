import Fastify from 'fastify';
import type { Server } from 'node:http';
import type { FastifyBaseLogger, FastifyHttpOptions, FastifyInstance } from 'fastify';
import type { ChangeFeedOptions } from '../../lib/change-feed.ts';
import type { Config } from '../../lib/config.ts';
import type { Pool } from '../../lib/db.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Queues } from '../../lib/queues.ts';
import { startOutbox } from '../../lib/pipeline/outbox.ts';
import type { Outbox, OutboxOptions } from '../../lib/pipeline/outbox.ts';
import { registerApiDocs } from './plugins/api-docs.ts';
import { registerAuth } from './plugins/auth.ts';
import { registerEtag } from './plugins/etag.ts';
import { registerMethodNotAllowed } from './plugins/method-not-allowed.ts';
import { registerOpenApi } from './plugins/openapi.ts';
import { registerRateLimit } from './plugins/rate-limit.ts';
import { registerResponseCache } from './plugins/response-cache.ts';
import { registerSecurityHeaders } from './plugins/security-headers.ts';
import { problemHandler, notFoundHandler } from './problem.ts';
import { findingRoutes } from './routes/findings.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { modelRoutes } from './routes/models.ts';
import { muteRoutes } from './routes/mutes.ts';
import { releaseRoutes } from './routes/releases.ts';
import { watchRoutes } from './routes/watches.ts';
import { badgeRoutes } from './routes/badge.ts';
import { feedRoutes } from './routes/feed.ts';
import { pageRoutes } from './routes/pages.ts';
import { scanRoutes } from './routes/scans.ts';
import { webhookRoutes } from './routes/webhook.ts';

export interface AppDeps {
  pool: Pool;
  queues: Queues;
  cfg: Config;
  log: Logger;
  /** The outbox loop's timings (tests shorten its backoff). */
  outbox?: OutboxOptions;
  /** The response cache's change feed timings (tests shorten its reconnect wait). */
  changeFeed?: ChangeFeedOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    /** Enqueues the releases webhooks accepted (started when the app is ready, stopped when it closes). */
    outbox: Outbox | null;
  }
}

/** Trust the nearest `n` proxies (what Fastify does for a numeric trustProxy, which its types omit). */
const hops =
  (n: number) =>
  (_address: string, hop: number): boolean =>
    hop < n;

/** Builds the HTTP app (API, webhook, pages) without listening; tests call inject() on it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const opts: FastifyHttpOptions<Server> = {
    loggerInstance: deps.log.child({ component: 'api' }) as FastifyBaseLogger,
    // X-Forwarded-* are believed only from the proxies the operator names (HUBWATCH_TRUST_PROXY).
    trustProxy: typeof deps.cfg.trustProxy === 'number' ? hops(deps.cfg.trustProxy) : deps.cfg.trustProxy,
    bodyLimit: 1 << 20,
  };
  const app = Fastify(opts);
  app.decorate('deps', deps);
  app.decorate('outbox', null);
  app.addHook('onReady', async () => {
    app.outbox = startOutbox(deps, deps.outbox);
  });
  app.addHook('onClose', async () => {
    await app.outbox?.close();
  });
  app.setErrorHandler(problemHandler);
  app.setNotFoundHandler(notFoundHandler);
  await registerSecurityHeaders(app);
  await registerRateLimit(app);
  await registerMethodNotAllowed(app);
  await registerAuth(app);
  await registerResponseCache(app, deps.changeFeed);
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
  await app.register(badgeRoutes);
  await app.register(feedRoutes);
  return app;
}
