import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendProblem } from '../problem.ts';

/** The error @fastify/rate-limit throws past the limit; the one error handler turns it into problem+json 429. */
function tooMany(_req: FastifyRequest, ctx: { after: string }): Error & { statusCode: number } {
  return Object.assign(new Error(`rate limit exceeded, retry in ${ctx.after}`), { statusCode: 429 });
}

/**
 * Rate limits per client address (Fastify's `req.ip`, so HUBWATCH_TRUST_PROXY decides whose address that is),
 * kept in process memory:
 * - every route: `rateLimitMax` requests per window (the webhook route sets its own, `webhookRateLimitMax`);
 * - failed authentications: after `authFailureLimit` answers of 401 (wrong bearer token or webhook secret) in a
 *   window, every request from that address gets 429 until the window ends, so secrets cannot be guessed fast.
 * Registered on the root instance before the routes (route limits are attached when routes are added).
 */
export async function registerRateLimit(app: FastifyInstance): Promise<void> {
  const { cfg } = app.deps;
  await app.register(rateLimit, {
    global: cfg.rateLimitMax > 0,
    max: Math.max(cfg.rateLimitMax, 1),
    timeWindow: cfg.rateLimitWindowMs,
    errorResponseBuilder: tooMany,
  });
  const failures = app.createRateLimit({ max: cfg.authFailureLimit, timeWindow: cfg.rateLimitWindowMs });
  app.addHook('onRequest', async (req, reply) => {
    const r = await failures(req, { increment: false });
    if (!r.isAllowed && r.remaining === 0) {
      const retry = Math.max(1, Math.ceil(r.ttl / 1000));
      return sendProblem(
        reply.header('retry-after', String(retry)),
        429,
        'Too Many Requests',
        `too many failed authentications from this address; retry in ${retry} s`,
      );
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 401) await failures(req);
  });
}
