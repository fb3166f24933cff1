import { Queue, Worker } from 'bullmq';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { pollAuthors } from '../lib/pipeline/poll.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';

/**
 * The `poll` queue: a BullMQ job scheduler fires every `pollIntervalMs` (one job across all worker processes),
 * and this consumer lists the watched authors' recent models. The scheduler lives in Redis, so the queue handle
 * that upserts it is closed at once.
 */
export async function startPollWorker(deps: PipelineDeps, authors: string[]): Promise<Worker> {
  const connection = redisConnection(deps.cfg.redisUrl);
  const scheduler = new Queue(QUEUE.poll, { connection, prefix: deps.cfg.queuePrefix });
  try {
    await scheduler.upsertJobScheduler('poll-authors', { every: deps.cfg.pollIntervalMs }, { name: 'poll', data: {} });
  } finally {
    await scheduler.close();
  }
  const w = new Worker(QUEUE.poll, async () => pollAuthors(deps, authors), {
    connection,
    prefix: deps.cfg.queuePrefix,
  });
  w.on('error', (e) => deps.log.error({ err: e, queue: QUEUE.poll }, 'worker error'));
  w.on('failed', (job, e) => deps.log.warn({ err: e, queue: QUEUE.poll, jobId: job?.id }, 'poll failed'));
  return w;
}
