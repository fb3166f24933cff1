import { Queue, Worker } from 'bullmq';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { pollAuthors, pollRepos } from '../lib/pipeline/poll.ts';
import { pollTargets } from '../lib/watches.repo.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';

/**
 * The `poll` queue: a BullMQ job scheduler fires every `pollIntervalMs` (one job across all worker processes),
 * and this consumer lists the recent models of the watched authors (HUBWATCH_WATCH_AUTHORS and the watch rules,
 * read at each run) and the main revision of each repo a rule watches. The scheduler lives in Redis, so the queue handle
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
  const poll = async () => {
    const rules = await pollTargets(deps.pool);
    const a = await pollAuthors(deps, [...new Set([...authors, ...rules.authors])]);
    const r = await pollRepos(deps, rules.repos);
    return { seen: a.seen + r.seen, accepted: a.accepted + r.accepted };
  };
  const w = new Worker(QUEUE.poll, poll, {
    connection,
    prefix: deps.cfg.queuePrefix,
  });
  w.on('error', (e) => deps.log.error({ err: e, queue: QUEUE.poll }, 'worker error'));
  w.on('failed', (job, e) => deps.log.warn({ err: e, queue: QUEUE.poll, jobId: job?.id }, 'poll failed'));
  return w;
}
