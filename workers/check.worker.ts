import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import type { CheckEnv } from '../lib/pipeline/deps.ts';
import { failCheckRun, processCheckRun } from '../lib/pipeline/process-check-run.ts';
import { redisConnection } from '../lib/queues.ts';
import type { QUEUE } from '../lib/queues.ts';
import type { CheckJob } from '../lib/queues.ts';

/**
 * A check-job consumer: `checks` (CPU workers) or `tensor` (the runner, with a tensor reader in `env`).
 * A check that fails is recorded as status `error` by the check runner itself; what is retried here is
 * infrastructure trouble (database down, snapshot not yet visible).
 */
export function startCheckWorker(
  deps: PipelineDeps,
  queue: typeof QUEUE.checks | typeof QUEUE.tensor,
  env: CheckEnv = {},
  concurrency = deps.cfg.workerConcurrency,
): Worker<CheckJob> {
  const w = new Worker<CheckJob>(
    queue,
    async (job: Job<CheckJob>) => {
      const log = deps.log.child({ queue, jobId: job.id });
      try {
        await processCheckRun({ ...deps, log }, env, job.data.checkRunId);
      } catch (e) {
        if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw e;
        log.error({ err: e }, 'check job failed on its last attempt; recorded as error');
        await failCheckRun({ ...deps, log }, job.data.checkRunId, `check could not run: ${(e as Error).message}`);
      }
    },
    {
      connection: redisConnection(deps.cfg.redisUrl),
      prefix: deps.cfg.queuePrefix,
      concurrency,
      lockDuration: 120_000,
    },
  );
  w.on('error', (e) => deps.log.error({ err: e, queue }, 'worker error'));
  w.on('failed', (job, e) => deps.log.warn({ err: e, queue, jobId: job?.id }, 'check job failed'));
  return w;
}
