import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { SourceError } from '../lib/byte-source.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { processRelease } from '../lib/pipeline/process-release.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';
import type { ReleaseJob } from '../lib/queues.ts';
import { markFailed } from '../lib/releases.repo.ts';

/**
 * The `release` queue consumer: builds the snapshot and fans out check jobs. Hub and database errors are
 * retried with backoff; after the last attempt the release is recorded as failed with verdict `error`.
 */
export function startReleaseWorker(deps: PipelineDeps): Worker<ReleaseJob> {
  const w = new Worker<ReleaseJob>(
    QUEUE.release,
    async (job: Job<ReleaseJob>) => {
      const log = deps.log.child({ queue: QUEUE.release, jobId: job.id });
      try {
        await processRelease({ ...deps, log }, job.data.releaseId);
      } catch (e) {
        // A repo or revision the Hub says does not exist (or we may not read) will not appear by retrying.
        const permanent = e instanceof SourceError && (e.status === 404 || e.status === 401 || e.status === 403);
        const last = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        log.warn({ err: e, attempt: job.attemptsMade + 1, last }, 'release processing failed');
        if (last || e instanceof UnrecoverableError) {
          const msg = e instanceof SourceError ? e.message : `snapshot failed: ${(e as Error).message}`;
          await markFailed(deps.pool, job.data.releaseId, msg);
          return;
        }
        throw e;
      }
    },
    {
      connection: redisConnection(deps.cfg.redisUrl),
      prefix: deps.cfg.queuePrefix,
      concurrency: deps.cfg.workerConcurrency,
    },
  );
  w.on('error', (e) => deps.log.error({ err: e, queue: QUEUE.release }, 'worker error'));
  return w;
}
