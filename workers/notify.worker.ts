import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { notifyRelease } from '../lib/pipeline/notify.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';
import type { NotifyJob } from '../lib/queues.ts';
import { SlackRateLimited } from '../lib/slack.ts';

/** The `notify` queue consumer: Slack alerts on verdict transitions; a 429 pauses the queue for Retry-After. */
export function startNotifyWorker(deps: PipelineDeps): Worker<NotifyJob> {
  const w: Worker<NotifyJob> = new Worker<NotifyJob>(
    QUEUE.notify,
    async (job: Job<NotifyJob>) => {
      try {
        return await notifyRelease(deps, job.data.releaseId);
      } catch (e) {
        if (e instanceof SlackRateLimited) {
          await w.rateLimit(e.retryAfterMs);
          throw Worker.RateLimitError();
        }
        throw e;
      }
    },
    { connection: redisConnection(deps.cfg.redisUrl), prefix: deps.cfg.queuePrefix },
  );
  w.on('error', (e) => deps.log.error({ err: e, queue: QUEUE.notify }, 'worker error'));
  return w;
}
