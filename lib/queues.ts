/** Queue names, job payloads and the BullMQ connection, in one place. Job ids never contain ':'. */
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import type { ConnectionOptions, JobsOptions, WorkerOptions } from 'bullmq';

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
  /** A recheck (attempt 2, 3, …) gets its own job id, so a kept job of an earlier attempt does not hide it. */
  release: (releaseId: number, attempt = 1): string =>
    attempt > 1 ? `release-${releaseId}-attempt${attempt}` : `release-${releaseId}`,
  check: (checkRunId: number): string => `check-${checkRunId}`,
  notify: (releaseId: number): string => `notify-${releaseId}`,
};

export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: 1000,
};

/**
 * Lock and stalled-check periods of a release or check worker. A job whose worker died keeps its lock until it
 * expires; the stalled checker (every `stalledInterval`) then puts it back to waiting, and fails it on the next
 * stall past `maxStalledCount` (https://docs.bullmq.io/guide/workers/stalled-jobs).
 */
export function lockOptions(
  jobLockMs: number | null,
  defaultMs: number,
): Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'name'> {
  const lockDuration = jobLockMs ?? defaultMs;
  // The worker's name is what BullMQ records as a job's `processedBy`: which process holds it.
  return { lockDuration, stalledInterval: Math.min(30_000, lockDuration), name: `${hostname()}-${process.pid}` };
}

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
