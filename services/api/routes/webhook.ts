import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, LogLevel } from 'fastify';
import { DeliveryBatcher } from '../../../lib/pipeline/delivery-batcher.ts';
import { ingestWebhook } from '../../../lib/pipeline/ingest.ts';
import { sendProblem } from '../problem.ts';

/**
 * Exact, timing-safe comparison of secrets of any length: both sides are hashed to equal-length digests, so
 * neither the content nor the length of the expected secret leaks through timing. No trimming, no case folding.
 * The expected secret is hashed once, here, not on every request.
 */
export function secretMatcher(expected: string): (given: string | undefined) => boolean {
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return (given) => given !== undefined && timingSafeEqual(createHash('sha256').update(given, 'utf8').digest(), b);
}

/** `secretMatcher(expected)(given)`, for a single comparison. */
export function secretMatches(given: string | undefined, expected: string): boolean {
  return secretMatcher(expected)(given);
}

/**
 * The secret the Hub sent: the X-Webhook-Secret header, else `?secret=` (both supported by the Hub). A header
 * sent twice, or a query parameter given twice, is no secret at all.
 */
function givenSecret(req: FastifyRequest): string | undefined {
  const header = req.headers['x-webhook-secret'];
  if (header !== undefined) return typeof header === 'string' ? header : undefined;
  const q = (req.query as { secret?: unknown } | undefined)?.secret;
  return typeof q === 'string' ? q : undefined;
}

/**
 * POST /webhooks/huggingface: the Hub sends the secret verbatim in X-Webhook-Secret (or ?secret=); no HMAC.
 * Every delivery that passes the secret is stored (a bounded, jsonb-safe copy) before anything is enqueued;
 * a payload out of bounds is stored as `ignored` and answered 400; a valid one 202 within milliseconds.
 * The secret is never logged (redacted request serializer) nor echoed (redacted `instance`).
 */
export async function webhookRoutes(app: FastifyInstance): Promise<void> {
  const { cfg } = app.deps;
  const rateLimit =
    cfg.webhookRateLimitMax > 0 ? { max: cfg.webhookRateLimitMax, timeWindow: cfg.rateLimitWindowMs } : false;
  // Every delivery is stored in webhook_deliveries, so its two request log lines (Fastify's "incoming request" and
  // "request completed") are only written at debug or trace level; at 2,000 deliveries/s they cost more CPU than
  // the rest of the request (see bench/webhook-bench.ts --compare). Warnings and errors are still logged.
  // Only ever quieter than the root logger: at error, fatal or silent the route keeps that level.
  const root = app.deps.log;
  const logLevel = root.isLevelEnabled('debug') || !root.isLevelEnabled('warn') ? (root.level as LogLevel) : 'warn';
  const matches = cfg.webhookSecret ? secretMatcher(cfg.webhookSecret) : null;
  // One per app: the deliveries that arrive while its statement is in flight are written together by the next one.
  const batcher = new DeliveryBatcher(app.deps.pool);
  app.addHook('onClose', () => batcher.close());
  const wake = (): void => app.outbox?.wake();
  const canReadPrivate = Boolean(cfg.hfToken);
  const bodyLimit = app.initialConfig.bodyLimit ?? 1 << 20;
  app.post('/webhooks/huggingface', { config: { rateLimit }, logLevel }, async (req, reply) => {
    if (!matches) return sendProblem(reply, 503, 'Service Unavailable', 'HUBWATCH_WEBHOOK_SECRET is not configured');
    const given = givenSecret(req);
    if (!matches(given))
      return sendProblem(
        reply,
        401,
        'Unauthorized',
        given === undefined ? 'missing X-Webhook-Secret' : 'wrong webhook secret',
      );
    // A chunked body has no length: it counts as large as the body limit allows.
    const bytes = Number(req.headers['content-length']) || bodyLimit;
    const r = await ingestWebhook({ batcher, canReadPrivate, wake }, req.body, bytes);
    if (r.invalid)
      return sendProblem(reply, 400, 'Bad Request', `payload refused: ${r.invalid.join('; ')}`, {
        deliveryId: r.deliveryId,
      });
    return reply.status(202).send({
      deliveryId: r.deliveryId,
      outcome: r.outcome,
      releaseId: r.releaseId,
      ...(r.reason ? { reason: r.reason } : {}),
    });
  });
}
