import type { Pool } from '../db.ts';
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues.ts';
import { jobId } from '../queues.ts';
import { withTimeout } from '../timeout.ts';
import { upsertRelease } from '../releases.repo.ts';
import type { ReleaseSource } from '../releases.repo.ts';
import type { DeliveryBatcher } from './delivery-batcher.ts';
import { classifyWebhook } from './webhook-event.ts';
import type { WebhookDecision } from './webhook-event.ts';
import { checkWebhookPayload, storablePayload } from './webhook-payload.ts';

export interface IngestResult {
  deliveryId: number;
  outcome: 'release' | 'duplicate' | 'ignored';
  releaseId: number | null;
  reason: string | null;
  /** Why the payload was refused (out of bounds); it is stored, bounded, with outcome `ignored`. */
  invalid: string[] | null;
}

/**
 * Stores a webhook delivery and, when it announces a release, the release (one per repo and sha) and its outbox
 * row, atomically, through the batcher (one statement for the deliveries that arrive together); Redis is not
 * touched. The outbox loop (`outbox.ts`), woken by `wake`, enqueues the release job, so a delivery is answered in
 * milliseconds whether Redis is up or not, and is never lost. `bodyBytes` (the request body's size) bounds how much
 * one statement carries. Rejects when the delivery could not be stored.
 */
export async function ingestWebhook(
  deps: { batcher: DeliveryBatcher; canReadPrivate: boolean; wake?: () => void },
  body: unknown,
  bodyBytes = 0,
): Promise<IngestResult> {
  // Validated before anything else; what is stored and classified is the bounded, jsonb-safe copy.
  const check = checkWebhookPayload(body);
  const invalid = check.ok ? null : check.errors;
  const stored = storablePayload(body);
  const d: WebhookDecision = invalid
    ? {
        kind: 'ignored',
        reason: `invalid payload: ${invalid.join('; ')}`,
        repo: null,
        sha: null,
        scope: null,
        action: null,
      }
    : classifyWebhook(stored, { canReadPrivate: deps.canReadPrivate });
  const webhookId = (stored as { webhook?: { id?: unknown } })?.webhook?.id;
  const common = {
    scope: d.scope,
    action: d.action,
    webhookId: typeof webhookId === 'string' ? webhookId : null,
    payload: stored,
  };
  const row = await deps.batcher.store(
    d.kind === 'ignored'
      ? { ...common, kind: 'ignored', repo: d.repo, sha: d.sha, reason: d.reason }
      : { ...common, kind: 'release', repo: d.repo, sha: d.sha, reason: null },
    bodyBytes,
  );
  if (row.outcome === 'release') deps.wake?.();
  return d.kind === 'ignored' ? { ...row, reason: d.reason, invalid } : { ...row, reason: null, invalid: null };
}

/** Records a release found by the poller or asked for by a client, and enqueues it when new. */
export async function acceptRelease(
  deps: { pool: Pool; queues: Queues; log: Logger },
  repo: string,
  sha: string,
  source: ReleaseSource,
): Promise<{ releaseId: number; created: boolean }> {
  const { release, created } = await upsertRelease(deps.pool, repo, sha, source);
  if (created) await enqueueRelease(deps, release.id);
  return { releaseId: release.id, created };
}

async function enqueueRelease(deps: { queues: Queues; log: Logger }, releaseId: number): Promise<void> {
  try {
    // Bounded: with Redis down the client would queue the command until it reconnects; the webhook must answer fast.
    await withTimeout(
      deps.queues.release.add('release', { releaseId }, { jobId: jobId.release(releaseId) }),
      2000,
      () => {
        throw new Error('enqueue timed out after 2000 ms');
      },
    );
  } catch (e) {
    deps.log.warn({ err: e, releaseId }, 'could not enqueue release; the reconciler will retry');
  }
}
