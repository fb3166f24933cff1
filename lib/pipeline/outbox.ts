/**
 * The release outbox loop (the "transactional outbox" pattern: https://microservices.io/patterns/data/transactional-outbox.html).
 * A webhook request stores its release and an outbox row in one transaction and answers at once; this loop, in
 * the API process, enqueues the release jobs (job id `release-<id>`, so a repeat is a no-op while the job
 * exists) and deletes the rows. It wakes when a request says so, else every `intervalMs`; with Redis or Postgres
 * unreachable it backs off exponentially and logs one line per state change, not one per delivery.
 */
import { withTransaction } from '../db.ts';
import type { Pool } from '../db.ts';
import type { Logger } from '../logger.ts';
import { removeFromOutbox, takeOutbox } from '../outbox.repo.ts';
import type { Queues } from '../queues.ts';
import { jobId } from '../queues.ts';
import { withTimeout } from '../timeout.ts';

export type OutboxState = 'ok' | 'redis-unavailable' | 'postgres-unavailable';

export interface OutboxOptions {
  /** Pass interval when nothing wakes the loop (rows left by another process or a crash). */
  intervalMs?: number;
  /** Rows taken per pass (one addBulk). */
  batch?: number;
  /** Bound on one Redis round trip: with Redis down the client would hold the command until it reconnects. */
  enqueueTimeoutMs?: number;
  /** Backoff after a failed pass: doubles from `intervalMs` up to this. */
  maxBackoffMs?: number;
}

export interface Outbox {
  /** Asks for a pass soon (after the current one); cheap, called once per accepted release. */
  wake(): void;
  /** Runs passes until a pass finds nothing to enqueue; rejects with the error of a failed pass. */
  drain(): Promise<number>;
  /** Stops the loop and waits for the pass in progress. */
  close(): Promise<void>;
  readonly state: OutboxState;
  /** Jobs enqueued since start. */
  readonly enqueued: number;
}

class StageError extends Error {
  constructor(
    readonly stage: 'redis' | 'postgres',
    readonly inner: unknown,
  ) {
    super(inner instanceof Error ? inner.message : String(inner));
  }
}

export function startOutbox(deps: { pool: Pool; queues: Queues; log: Logger }, opts: OutboxOptions = {}): Outbox {
  const intervalMs = opts.intervalMs ?? 1000;
  const batch = opts.batch ?? 500;
  const enqueueTimeoutMs = opts.enqueueTimeoutMs ?? 2000;
  const maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  const log = deps.log.child({ component: 'outbox' });
  let state: OutboxState = 'ok';
  let failures = 0;
  let enqueued = 0;
  let closed = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;

  const setState = (next: OutboxState, err?: unknown): void => {
    if (next === state) return;
    const prev = state;
    state = next;
    if (next === 'ok') log.info({ outbox: next, previous: prev, enqueued }, 'outbox: enqueueing again');
    else
      log.warn(
        { outbox: next, error: err instanceof Error ? err.message : String(err) },
        'outbox: cannot enqueue; accepted releases wait in Postgres, retrying with backoff',
      );
  };

  // A queue with no 'error' listener prints every connection error to stderr (BullMQ falls back to
  // console.error); the outbox turns them into its state instead.
  const onQueueError = (e: Error): void => setState('redis-unavailable', e);
  const queueList = [deps.queues.release, deps.queues.checks, deps.queues.tensor, deps.queues.notify];
  for (const q of queueList) q.on('error', onQueueError);

  async function redisReady(): Promise<void> {
    const client = await withTimeout(deps.queues.release.backend.connection.client, enqueueTimeoutMs, () => {
      throw new Error(`redis not ready after ${enqueueTimeoutMs} ms`);
    });
    if (client.status !== 'ready') throw new Error(`redis connection ${client.status}`);
  }

  /** One batch: take rows, enqueue the pending ones, delete them, in one transaction. Returns rows taken. */
  async function pass(): Promise<number> {
    try {
      await redisReady();
    } catch (e) {
      throw new StageError('redis', e);
    }
    let stage: 'redis' | 'postgres' = 'postgres';
    try {
      return await withTransaction(deps.pool, async (c) => {
        const rows = await takeOutbox(c, batch);
        if (!rows.length) return 0;
        const jobs = rows
          .filter((r) => r.pending)
          .map((r) => ({
            name: 'release',
            data: { releaseId: r.releaseId },
            opts: { jobId: jobId.release(r.releaseId) },
          }));
        if (jobs.length) {
          stage = 'redis';
          await withTimeout(deps.queues.release.addBulk(jobs), enqueueTimeoutMs, () => {
            throw new Error(`enqueue timed out after ${enqueueTimeoutMs} ms`);
          });
          stage = 'postgres';
        }
        await removeFromOutbox(
          c,
          rows.map((r) => r.releaseId),
        );
        enqueued += jobs.length;
        return rows.length;
      });
    } catch (e) {
      throw new StageError(stage, e);
    }
  }

  /** Passes until one takes less than a full batch and nobody asked again. */
  async function passes(): Promise<number> {
    let total = 0;
    for (;;) {
      again = false;
      const n = await pass();
      total += n;
      if (n < batch && !again) return total;
    }
  }

  function schedule(ms: number): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, ms);
    timer.unref();
  }

  function run(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = passes()
      .then(
        () => {
          failures = 0;
          setState('ok');
          schedule(intervalMs);
        },
        (e: unknown) => {
          failures++;
          setState(
            e instanceof StageError && e.stage === 'postgres' ? 'postgres-unavailable' : 'redis-unavailable',
            e instanceof StageError ? e.inner : e,
          );
          schedule(Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(failures - 1, 16)));
        },
      )
      .finally(() => {
        running = null;
        if (again && failures === 0) run();
      });
  }

  run();
  return {
    wake() {
      // While backing off, a wake does not hammer a dead Redis: the backoff timer runs the next pass.
      if (failures === 0) run();
    },
    async drain() {
      while (running) await running;
      const n = await passes();
      failures = 0;
      setState('ok');
      return n;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      while (running) await running;
      for (const q of queueList) q.off('error', onQueueError);
    },
    get state() {
      return state;
    },
    get enqueued() {
      return enqueued;
    },
  };
}
