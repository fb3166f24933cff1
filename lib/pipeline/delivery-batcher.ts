/**
 * Group commit for webhook deliveries. Written one statement each, deliveries cost Postgres a round trip and a
 * commit (a WAL flush, 2–4 ms on this project's build machine) apiece, and under load that, not the work, is what a
 * request waits on. The batcher writes the deliveries that arrive together in one statement (`insertDeliveries`):
 * those that came in the same turn of the event loop, and then, while a statement is in flight, all that arrive
 * meanwhile, written as soon as it ends. There is no timer: a lone delivery is written in the turn it arrived.
 */
import type { Pool } from '../db.ts';
import { insertDeliveries } from '../outbox.repo.ts';
import type { BatchDelivery, StoredDelivery } from '../outbox.repo.ts';

export type { BatchDelivery, StoredDelivery };

export interface DeliveryBatcherOptions {
  /** Deliveries per statement at most. */
  maxBatch?: number;
  /** Request bytes per statement at most (a batch holds at least one delivery, however large). */
  maxBatchBytes?: number;
}

interface Waiting {
  delivery: BatchDelivery;
  bytes: number;
  resolve: (row: StoredDelivery) => void;
  reject: (e: unknown) => void;
}

// SQLSTATE classes of errors caused by what a delivery holds (22 data exception, 23 integrity constraint, 54 program
// limit exceeded): one bad delivery must not fail the others written with it, so such a batch is split.
const DATA_ERROR = /^(22|23|54)/;

export class DeliveryBatcher {
  readonly #pool: Pool;
  readonly #maxBatch: number;
  readonly #maxBatchBytes: number;
  #queue: Waiting[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | null = null;
  /** Statements run (retries and splits included) and deliveries stored by them. */
  statements = 0;
  stored = 0;

  constructor(pool: Pool, opts: DeliveryBatcherOptions = {}) {
    this.#pool = pool;
    this.#maxBatch = opts.maxBatch ?? 256;
    this.#maxBatchBytes = opts.maxBatchBytes ?? 4 << 20;
  }

  /**
   * Stores one delivery (`bytes`: the size of its request body, to bound a statement) and resolves with its own
   * row. Rejects with the statement's error when its batch could not be written (nothing of that batch is stored),
   * or when its release was twice neither inserted nor found.
   */
  store(delivery: BatchDelivery, bytes = 0): Promise<StoredDelivery> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ delivery, bytes, resolve, reject });
      // Once per turn of the event loop, after the requests read in it have queued theirs (setImmediate runs right
      // after the poll phase: no waiting). While a statement is in flight, its end writes what queued.
      if (!this.#scheduled && !this.#inFlight) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#next();
        });
      }
    });
  }

  /** Resolves once the batcher is idle: every delivery queued so far written or refused. */
  async close(): Promise<void> {
    while (this.#inFlight || this.#scheduled) await (this.#inFlight ?? new Promise((r) => setImmediate(r)));
  }

  #next(): void {
    if (this.#inFlight || !this.#queue.length) return;
    let n = 0;
    for (let bytes = 0; n < this.#queue.length && n < this.#maxBatch; n++) {
      bytes += this.#queue[n].bytes;
      if (n > 0 && bytes > this.#maxBatchBytes) break;
    }
    this.#inFlight = this.#write(this.#queue.splice(0, n)).finally(() => {
      this.#inFlight = null;
      this.#next();
    });
  }

  /** Writes a batch and settles every one of its deliveries; never rejects. */
  async #write(batch: Waiting[], retried = false): Promise<void> {
    let rows: (StoredDelivery | undefined)[];
    try {
      this.statements++;
      rows = await insertDeliveries(
        this.#pool,
        batch.map((w) => w.delivery),
      );
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      // Two API processes writing batches of the same models and releases can deadlock where their plans lock rows
      // in different orders; Postgres aborts one statement, which is run again once.
      if (code === '40P01' && !retried) return this.#write(batch, true);
      if (batch.length > 1 && DATA_ERROR.test(code)) {
        // Halves until the delivery at fault is alone; the others are written (a few statements, and only then).
        const half = Math.ceil(batch.length / 2);
        await this.#write(batch.slice(0, half), retried);
        await this.#write(batch.slice(half), retried);
      } else for (const w of batch) w.reject(e);
      return;
    }
    const missed: Waiting[] = [];
    batch.forEach((w, i) => {
      const row = rows[i];
      if (!row) return void missed.push(w);
      this.stored++;
      w.resolve(row);
    });
    if (!missed.length) return;
    // Releases (or models) another transaction inserted after this statement's snapshot: the next one sees them.
    if (!retried) return this.#write(missed, true);
    for (const { delivery: d, reject } of missed)
      reject(new Error(`release ${d.repo}@${d.sha} neither inserted nor found`));
  }
}
