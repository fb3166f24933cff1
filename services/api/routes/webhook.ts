import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ingestWebhook } from '../../../lib/pipeline/ingest.ts';
import { sendProblem } from '../problem.ts';

/** Timing-safe comparison of secrets of any length (digests have equal length). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * POST /webhooks/huggingface: the Hub sends the secret verbatim in X-Webhook-Secret (or ?secret=); no HMAC.
 * The delivery is stored before anything is enqueued; the answer is 202 within milliseconds.
 */
export async function webhookRoutes(app: FastifyInstance): Promise<void> {
  app.post('/webhooks/huggingface', async (req, reply) => {
    const { cfg, pool, queues, log } = app.deps;
    if (!cfg.webhookSecret)
      return sendProblem(reply, 503, 'Service Unavailable', 'HUBWATCH_WEBHOOK_SECRET is not configured');
    const header = req.headers['x-webhook-secret'];
    const given =
      typeof header === 'string'
        ? header
        : typeof (req.query as { secret?: unknown })?.secret === 'string'
          ? (req.query as { secret: string }).secret
          : undefined;
    if (!secretMatches(given, cfg.webhookSecret))
      return sendProblem(
        reply,
        401,
        'Unauthorized',
        given === undefined ? 'missing X-Webhook-Secret' : 'wrong webhook secret',
      );
    if (!req.body || typeof req.body !== 'object' || Array.isArray(req.body))
      return sendProblem(reply, 400, 'Bad Request', 'body must be a JSON object');
    const r = await ingestWebhook({ pool, queues, log, canReadPrivate: Boolean(cfg.hfToken) }, req.body);
    return reply.status(202).send({
      deliveryId: r.deliveryId,
      outcome: r.outcome,
      releaseId: r.releaseId,
      ...(r.reason ? { reason: r.reason } : {}),
    });
  });
}
