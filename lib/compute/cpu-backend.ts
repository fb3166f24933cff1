/**
 * The CPU compute backend: the SIMD kernel on a pool of worker threads, one per core, so statistics run on every
 * core while the main thread keeps reading (its share of the work is small: a local read is a kernel copy on a libuv
 * thread, an HTTP body is read by the socket straight into the chunk's memory). `threads: 0` runs the kernel inline
 * on the calling thread (no workers). Chunks the SIMD kernel does not take (other dtypes, widths not a multiple of 8)
 * are computed inline by the scalar kernel.
 *
 * A chunk reaches a worker without a copy. A chunk read into a shared buffer from the pool (BufferPool.takeShared,
 * what `sharedChunks` asks readers for: a local folder and the Hub over the range fetch fill it with readRangeInto)
 * stays where it is: each worker's kernel reads its rows in place (the buffer is a shared WebAssembly.Memory), a chunk
 * of at least two `minSliceBytes` split into row slices over the workers. A chunk that owns a plain ArrayBuffer (a
 * source without readRangeInto) is transferred (detached here, handed back with the result) and another
 * SharedArrayBuffer is shared and split; the worker copies those rows once into its kernel's own memory. Rows are
 * independent, so the statistics do not depend on how a chunk is split or on which worker computes it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChunkJob, ChunkStats, ComputeBackend, DeltaSession, DeltaSpec } from './backend.ts';
import { STATS_ITEM_SIZE, emptyChunkStats } from './backend.ts';
import type { KernelMemory } from '../buffer-pool.ts';
import { SHARED_SCRATCH_BYTES, kernelMemoryOf } from '../buffer-pool.ts';
import { openCpuDelta } from './cpu-delta.ts';
import { computeChunk } from './cpu-kernels.ts';
import { CPU_WORKER_SOURCE, SCRATCH_PART_BYTES } from './cpu-worker-source.ts';
import type { SimdDtype } from './row-kernel-wasm.ts';
import {
  WasmRowKernel,
  reduceAccumulators,
  rowKernelModule,
  rowKernelSharedModule,
  simdSupports,
} from './row-kernel-wasm.ts';

type SimdJob = ChunkJob & { dtype: SimdDtype };

/** One message's worth of rows for a worker: a whole transferred chunk, or a slice of a shared one. */
interface Part {
  job: SimdJob;
  /** Rows in a kernel memory: computed where they lie, accumulators through scratch part `part`. */
  inPlace?: { km: KernelMemory; part: number };
  resolve: (reply: { acc: ArrayBuffer; data: Uint8Array | null }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

type Reply =
  | { tid: number | null }
  | { id: number; acc: ArrayBuffer; data: Uint8Array | null }
  | { id: number; error: string; data: Uint8Array | null };

export interface CpuBackendOptions {
  /**
   * A chunk in a SharedArrayBuffer is split over the workers in slices of at least this many bytes (whole rows).
   * Default 4 MiB, so the streams' 4 MiB chunks go whole to one worker each: several chunks are in flight, which
   * keeps every worker busy without splitting, and each split costs messages on the reading thread. Measured with
   * 512 KiB slices against unsplit chunks (2 cores, load 1.2-2.0): over the mirror 0.55-0.65 vs 0.65-0.69 GB/s and
   * 2.28-2.82 vs 2.21-2.30 runner CPU s/GB (bench/untrained-bench.ts); from a local file 2.41-2.87 vs 2.76-2.78 GB/s
   * (bench/backend-bench.ts, cpu×2).
   */
  minSliceBytes?: number;
  /** Ask readers for chunks in shared kernel memory (`sharedChunks`). Default true; false for comparisons. */
  inPlace?: boolean;
}

/** Slices a chunk in a kernel memory is split into at most: one scratch part each. */
const MAX_IN_PLACE_SLICES = Math.floor(SHARED_SCRATCH_BYTES / SCRATCH_PART_BYTES);

/** Default worker count: one per core (availableParallelism), at most 8. */
export function defaultThreads(): number {
  return Math.min(8, Math.max(1, availableParallelism()));
}

/** The chunk as a view owning its whole (non-shared) buffer, so it can be transferred instead of copied. */
function transferable(data: Uint8Array): Uint8Array {
  if (data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength)
    return data;
  return data.slice();
}

const isShared = (data: Uint8Array): boolean =>
  typeof SharedArrayBuffer === 'function' && data.buffer instanceof SharedArrayBuffer;

/** The statistics of consecutive row slices of one chunk, as the chunk's (rows of slice i follow slice i − 1). */
function concatStats(parts: ChunkStats[], rows: number): ChunkStats {
  const out = emptyChunkStats(rows);
  let at = 0;
  for (const p of parts) {
    out.max.set(p.max, at);
    out.absMax.set(p.absMax, at);
    out.sum.set(p.sum, at);
    out.sumSq.set(p.sumSq, at);
    out.hash.set(p.hash, 2 * at);
    for (const n of p.nonFinite) out.nonFinite.push({ ...n, row: at + n.row });
    at += p.rows;
  }
  return out;
}

export class CpuBackend implements ComputeBackend {
  readonly name: string;
  readonly device = 'cpu';
  readonly sharedChunks: boolean;
  private readonly slots: Slot[] = [];
  private readonly queue: Part[] = [];
  private readonly pending = new Map<number, { p: Part; slot: Slot }>();
  private readonly minSliceBytes: number;
  private readonly tids: number[] = [];
  private inline: WasmRowKernel | null = null;
  private nextId = 1;
  private sentCount = 0;
  private failure: Error | null = null;
  private closed = false;

  /** Starts the workers right away, so they are ready by the first chunk. */
  constructor(threads = defaultThreads(), opts: CpuBackendOptions = {}) {
    this.name = threads > 0 ? `cpu-wasm-simd×${threads}` : 'cpu-wasm-simd-inline';
    this.minSliceBytes = Math.max(1, opts.minSliceBytes ?? 4 << 20);
    this.sharedChunks = threads > 0 && opts.inPlace !== false;
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn());
  }

  /** Kernel thread ids of the workers that have started (Linux; for per-thread CPU figures from /proc). */
  get workerThreadIds(): readonly number[] {
    return this.tids;
  }

  /** Messages posted to the workers so far (a whole chunk or one slice of a shared chunk each). */
  get partsSent(): number {
    return this.sentCount;
  }

  private spawn(): Slot {
    const worker = new Worker(CPU_WORKER_SOURCE, {
      eval: true,
      workerData: { module: rowKernelModule(), sharedModule: rowKernelSharedModule() },
    });
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
    if (!('id' in m)) {
      if (m.tid !== null) this.tids.push(m.tid);
      return;
    }
    const entry = this.pending.get(m.id);
    this.pending.delete(m.id);
    slot.busy = false;
    slot.worker.unref();
    if (entry) {
      if ('error' in m) entry.p.reject(new Error(m.error));
      else entry.p.resolve({ acc: m.acc, data: m.data });
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
      const { data, dtype, rows, cols } = p.job;
      slot.busy = true;
      slot.worker.ref();
      this.pending.set(id, { p, slot });
      this.sentCount++;
      const rowBytes = cols * STATS_ITEM_SIZE[dtype];
      // Rows in a kernel memory: the worker runs over the memory itself (posting a shared memory shares it).
      if (p.inPlace) {
        const { km, part } = p.inPlace;
        slot.worker.postMessage({
          id,
          mem: km.memory,
          memId: km.id,
          offset: data.byteOffset,
          dtype,
          rows,
          rowBytes,
          outPtr: km.scratch + part * SCRATCH_PART_BYTES,
        });
      } else
        // A shared slice is posted as it is (the worker sees the same memory); a plain buffer is transferred.
        slot.worker.postMessage(
          { id, data, dtype, rows, rowBytes },
          isShared(data) ? [] : [data.buffer as ArrayBuffer],
        );
    }
  }

  /** Queues rows for a worker; resolves with the kernel's accumulators and the buffer handed back, if any. */
  private send(job: SimdJob, inPlace?: Part['inPlace']): Promise<{ acc: ArrayBuffer; data: Uint8Array | null }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, inPlace, resolve, reject });
      this.pump();
    });
  }

  /**
   * Per-row statistics of a chunk. A chunk in a plain ArrayBuffer is transferred to a worker (detached here, and
   * returned as `input`); a chunk in a SharedArrayBuffer stays where it is and is split over the workers.
   */
  async rowStats(job: ChunkJob): Promise<ChunkStats> {
    if (this.closed) throw new Error('compute backend is closed');
    if (this.failure) throw this.failure;
    const need = job.rows * job.cols * STATS_ITEM_SIZE[job.dtype];
    if (job.data.byteLength < need)
      throw new Error(
        `chunk holds ${job.data.byteLength} bytes, ${job.rows} rows × ${job.cols} ${job.dtype} need ${need}`,
      );
    const { dtype } = job;
    if (this.slots.length === 0 || !simdSupports(dtype, job.cols))
      return computeChunk((this.inline ??= new WasmRowKernel()), job);
    if (isShared(job.data)) return this.sharedStats({ ...job, dtype });
    const data = transferable(job.data);
    const sent = { ...job, dtype, data };
    const { acc, data: back } = await this.send(sent);
    // The chunk came back with the accumulators: the reduction may need to recount a non-finite row from it.
    const stats = reduceAccumulators({ ...sent, data: back! }, acc, 0);
    stats.input = back!;
    return stats;
  }

  /**
   * A shared chunk in row slices, one per worker (each at least minSliceBytes), reduced and joined in row order.
   * Slices of a kernel memory are computed in place, each through its own part of the memory's scratch space.
   */
  private async sharedStats(job: SimdJob): Promise<ChunkStats> {
    const rowBytes = job.cols * STATS_ITEM_SIZE[job.dtype];
    const minRows = Math.max(1, Math.ceil(this.minSliceBytes / rowBytes));
    const km = kernelMemoryOf(job.data.buffer);
    const most = km ? Math.min(this.slots.length, MAX_IN_PLACE_SLICES) : this.slots.length;
    const n = Math.max(1, Math.min(most, Math.floor(job.rows / minRows)));
    const slices: SimdJob[] = [];
    for (let i = 0, first = 0; i < n; i++) {
      const rows = Math.floor(job.rows / n) + (i < job.rows % n ? 1 : 0);
      const data = job.data.subarray(first * rowBytes, (first + rows) * rowBytes);
      slices.push({ ...job, data, rows });
      first += rows;
    }
    const replies = await Promise.all(slices.map((s, part) => this.send(s, km ? { km, part } : undefined)));
    const parts = replies.map((r, i) => reduceAccumulators(slices[i], r.acc, 0));
    const stats = parts.length === 1 ? parts[0] : concatStats(parts, job.rows);
    stats.input = job.data;
    return stats;
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
