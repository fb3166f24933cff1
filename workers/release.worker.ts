import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { SourceError } from '../lib/byte-source.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { processRelease } from '../lib/pipeline/process-release.ts';
import { recoverFailedJob } from '../lib/pipeline/reconcile.ts';
import { lockOptions, QUEUE, redisConnection } from '../lib/queues.ts';
import type { ReleaseJob } from '../lib/queues.ts';
import { markFailed } from '../lib/releases.repo.ts';

/** Hub answers that asking again cannot change: the repo or revision is missing, or we may not read it. */
const PERMANENT_STATUS = new Set([401, 403, 404]);

function isPermanent(e: unknown): boolean {
  return e instanceof UnrecoverableError || (e instanceof SourceError && PERMANENT_STATUS.has(e.status ?? 0));
}

/**
 * The `release` queue consumer: builds the snapshot and fans out check jobs. Hub and database errors are
 * retried with backoff. A permanent failure (a 401/403/404 from the Hub) fails the job at once with
 * UnrecoverableError; after it, or after the last attempt of a transient one, the job ends in BullMQ's failed set
 * and the release is recorded as failed (verdict `error`, with the reason) in Postgres first.
 */
export function startReleaseWorker(deps: PipelineDeps): Worker<ReleaseJob> {
  const w = new Worker<ReleaseJob>(
    QUEUE.release,
    async (job: Job<ReleaseJob>) => {
      const log = deps.log.child({ queue: QUEUE.release, jobId: job.id });
      try {
        await processRelease({ ...deps, log }, job.data.releaseId);
      } catch (e) {
        const permanent = isPermanent(e);
        const last = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        log.warn({ err: e, attempt: job.attemptsMade + 1, last }, 'release processing failed');
        if (!last) throw e;
        const reason = e instanceof SourceError ? e.message : `snapshot failed: ${(e as Error).message}`;
        // Postgres before BullMQ: if this process dies now, the retried job finds the release failed and ends.
        await markFailed(deps.pool, job.data.releaseId, reason);
        throw permanent ? new UnrecoverableError(reason) : e;
      }
    },
    {
      connection: redisConnection(deps.cfg.redisUrl),
      prefix: deps.cfg.queuePrefix,
      concurrency: deps.cfg.workerConcurrency,
      ...lockOptions(deps.cfg.jobLockMs, 30_000),
    },
  );
  w.on('error', (e) => deps.log.error({ err: e, queue: QUEUE.release }, 'worker error'));
  // A job failed without our code running (stalled past the limit) leaves the release pending: re-enqueue it now.
  w.on('failed', (job) => {
    if (job)
      recoverFailedJob(deps, QUEUE.release, job).catch((e: Error) =>
        deps.log.warn({ err: e, jobId: job.id }, 'failed release job not recovered; left to the reconciler'),
      );
  });
  return w;
}
