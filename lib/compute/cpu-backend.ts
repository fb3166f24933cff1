/**
 * The CPU compute backend: the SIMD kernel on a pool of worker threads, so statistics run while the main thread
 * keeps reading. `threads: 0` runs the kernel inline on the calling thread (no workers). Chunks the SIMD kernel
 * does not take (other dtypes, widths not a multiple of 8) are computed inline by the scalar kernel.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkJob, ChunkStats, ComputeBackend, DeltaSession, DeltaSpec } from './backend.ts';
import { STATS_ITEM_SIZE } from './backend.ts';
import { openCpuDelta } from './cpu-delta.ts';
import { computeChunk } from './cpu-kernels.ts';
import { CPU_WORKER_SOURCE } from './cpu-worker-source.ts';
import type { SimdDtype } from './row-kernel-wasm.ts';
import { WasmRowKernel, reduceAccumulators, rowKernelModule, simdSupports } from './row-kernel-wasm.ts';

type SimdJob = ChunkJob & { dtype: SimdDtype };

interface Pending {
  job: SimdJob;
  resolve: (s: ChunkStats) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

type Reply = { id: number; acc: ArrayBuffer; data: Uint8Array } | { id: number; error: string; data: Uint8Array };

/** Default worker count: one per core beyond the one that reads, at least one, at most 8. */
export function defaultThreads(): number {
  return Math.min(8, Math.max(1, availableParallelism() - 1));
}

/** The chunk as a view owning its whole (non-shared) buffer, so it can be transferred instead of copied. */
function transferable(data: Uint8Array): Uint8Array {
  if (data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength)
    return data;
  return data.slice();
}

export class CpuBackend implements ComputeBackend {
  readonly name: string;
  readonly device = 'cpu';
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly pending = new Map<number, { p: Pending; slot: Slot }>();
  private inline: WasmRowKernel | null = null;
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;

  /** Starts the workers right away, so they are ready by the first chunk. */
  constructor(threads = defaultThreads()) {
    this.name = threads > 0 ? `cpu-wasm-simd×${threads}` : 'cpu-wasm-simd-inline';
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(CPU_WORKER_SOURCE, { eval: true, workerData: { module: rowKernelModule() } });
    const slot: Slot = { worker, busy: false };
    worker.unref();
    worker.on('message', (m: Reply) => this.onReply(slot, m));
    worker.on('error', (e) => this.fail(new Error(`compute worker failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`compute worker exited with code ${code}`));
    });
    return slot;
  }

  private onReply(slot: Slot, m: Reply): void {
    const entry = this.pending.get(m.id);
    this.pending.delete(m.id);
    slot.busy = false;
    slot.worker.unref();
    if (entry) {
      if ('error' in m) {
        entry.p.reject(new Error(m.error));
      } else {
        try {
          // The chunk came back with the accumulators: the reduction may need to recount a non-finite row from it.
          const stats = reduceAccumulators({ ...entry.p.job, data: m.data }, m.acc, 0);
          stats.input = m.data;
          entry.p.resolve(stats);
        } catch (e) {
          entry.p.reject(e as Error);
        }
      }
    }
    this.pump();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const { p } of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const p of this.queue.splice(0)) p.reject(e);
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const p = this.queue.shift()!;
      const id = this.nextId++;
      const data = transferable(p.job.data);
      p.job = { ...p.job, data };
      slot.busy = true;
      slot.worker.ref();
      this.pending.set(id, { p, slot });
      const rowBytes = p.job.cols * STATS_ITEM_SIZE[p.job.dtype];
      slot.worker.postMessage({ id, data, dtype: p.job.dtype, rows: p.job.rows, rowBytes }, [
        data.buffer as ArrayBuffer,
      ]);
    }
  }

  /** Per-row statistics of a chunk; a chunk sent to a worker has its buffer transferred (detached here). */
  rowStats(job: ChunkJob): Promise<ChunkStats> {
    if (this.closed) return Promise.reject(new Error('compute backend is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const need = job.rows * job.cols * STATS_ITEM_SIZE[job.dtype];
    if (job.data.byteLength < need)
      return Promise.reject(
        new Error(`chunk holds ${job.data.byteLength} bytes, ${job.rows} rows × ${job.cols} ${job.dtype} need ${need}`),
      );
    const { dtype } = job;
    if (this.slots.length === 0 || !simdSupports(dtype, job.cols)) {
      try {
        return Promise.resolve(computeChunk((this.inline ??= new WasmRowKernel()), job));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, dtype }, resolve, reject });
      this.pump();
    });
  }

  /** Compares a release matrix with its base on the calling thread (cpu-delta.ts). Throws once closed. */
  openDelta(spec: DeltaSpec): DeltaSession {
    if (this.closed) throw new Error('compute backend is closed');
    return openCpuDelta(spec);
  }

  /** Terminates the workers; jobs still queued or running are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('compute backend closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
