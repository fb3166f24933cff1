/** Queue names, job payloads and the BullMQ connection, in one place. Job ids never contain ':'. */
import { Queue } from 'bullmq';
import type { ConnectionOptions, JobsOptions } from 'bullmq';

export const QUEUE = {
  release: 'release',
  checks: 'checks',
  tensor: 'tensor',
  notify: 'notify',
  poll: 'poll',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export interface ReleaseJob {
  releaseId: number;
}
export interface CheckJob {
  checkRunId: number;
}
export interface NotifyJob {
  releaseId: number;
}

export const jobId = {
  release: (releaseId: number): string => `release-${releaseId}`,
  check: (checkRunId: number): string => `check-${checkRunId}`,
  notify: (releaseId: number): string => `notify-${releaseId}`,
};

export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: 1000,
};

/** BullMQ connection options from a redis:// URL (options, not an instance: BullMQ sets maxRetriesPerRequest itself). */
export function redisConnection(redisUrl: string): ConnectionOptions {
  const u = new URL(redisUrl);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
  };
}

export interface Queues {
  release: Queue<ReleaseJob>;
  checks: Queue<CheckJob>;
  tensor: Queue<CheckJob>;
  notify: Queue<NotifyJob>;
  close(): Promise<void>;
}

export function createQueues(redisUrl: string, prefix: string): Queues {
  const opts = { connection: redisConnection(redisUrl), prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS };
  const q = {
    release: new Queue<ReleaseJob>(QUEUE.release, opts),
    checks: new Queue<CheckJob>(QUEUE.checks, opts),
    tensor: new Queue<CheckJob>(QUEUE.tensor, opts),
    notify: new Queue<NotifyJob>(QUEUE.notify, opts),
  };
  return { ...q, close: async () => void (await Promise.all(Object.values(q).map((x) => x.close()))) };
}
