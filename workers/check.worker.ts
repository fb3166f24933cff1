import { WaitingError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { CheckEnv, PipelineDeps } from '../lib/pipeline/deps.ts';
import { CheckRunCancelled, failCheckRun, processCheckRun } from '../lib/pipeline/process-check-run.ts';
import { recoverFailedJob } from '../lib/pipeline/reconcile.ts';
import { lockOptions, redisConnection } from '../lib/queues.ts';
import type { QUEUE } from '../lib/queues.ts';
import type { CheckJob } from '../lib/queues.ts';

/**
 * A check-job consumer: `checks` (CPU workers) or `tensor` (the runner, with a tensor reader in `env`).
 * A check that fails is recorded as status `error` by the check runner itself; what is retried here is
 * infrastructure trouble (database down, snapshot not yet visible). After the last attempt the run is recorded
 * as `error` (so the release still gets a verdict) and the job fails in BullMQ. A job cancelled by
 * `cancelAllJobs` (a closing worker, see closeWorker) goes back to waiting without using an attempt.
 */
export function startCheckWorker(
  deps: PipelineDeps,
  queue: typeof QUEUE.checks | typeof QUEUE.tensor,
  env: CheckEnv = {},
  concurrency = deps.cfg.workerConcurrency,
): Worker<CheckJob> {
  const w = new Worker<CheckJob>(
    queue,
    async (job: Job<CheckJob>, token?: string, signal?: AbortSignal) => {
      const log = deps.log.child({ queue, jobId: job.id });
      try {
        await processCheckRun({ ...deps, log }, env, job.data.checkRunId, signal);
      } catch (e) {
        if (e instanceof CheckRunCancelled) {
          log.info({ reason: String(signal?.reason) }, 'check cancelled; job back to waiting');
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw e;
        log.error({ err: e }, 'check job failed on its last attempt; recorded as error');
        await failCheckRun({ ...deps, log }, job.data.checkRunId, `check could not run: ${(e as Error).message}`);
        throw e;
      }
    },
    {
      connection: redisConnection(deps.cfg.redisUrl),
      prefix: deps.cfg.queuePrefix,
      concurrency,
      ...lockOptions(deps.cfg.jobLockMs, 120_000),
    },
  );
  w.on('error', (e) => deps.log.error({ err: e, queue }, 'worker error'));
  w.on('failed', (job, e) => {
    deps.log.warn({ err: e, queue, jobId: job?.id }, 'check job failed');
    // A job failed without our code running (stalled past the limit) leaves its run open: re-enqueue it now.
    if (job)
      recoverFailedJob(deps, queue, job).catch((err: Error) =>
        deps.log.warn({ err, jobId: job.id }, 'failed check job not recovered; left to the reconciler'),
      );
  });
  return w;
}
