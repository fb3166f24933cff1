/**
 * The CPU compute backend: the SIMD kernel on a pool of worker threads, so statistics run while the main thread
 * keeps reading. `threads: 0` runs the kernel inline on the calling thread (no workers).
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChunkJob, ChunkStats, ComputeBackend } from './backend.ts';
import { computeChunk } from './cpu-kernels.ts';
import { WasmRowKernel } from './row-kernel-wasm.ts';

interface Pending {
  resolve: (s: ChunkStats) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

type Reply = { id: number; stats: ChunkStats } | { id: number; error: string };

/** Default worker count: one per core beyond the one that reads, at least one, at most 8. */
export function defaultThreads(): number {
  return Math.min(8, Math.max(1, availableParallelism() - 1));
}

/**
 * Starts a worker on a module. Node 20 does not apply `--import tsx` to a worker's entry module, so a .ts entry is
 * loaded through a tiny bootstrap that registers tsx's ESM hooks inside the worker first.
 */
function startWorker(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true });
}

/** Hands a chunk to a worker without copying when it owns its whole (non-shared) buffer. */
function transferable(job: ChunkJob): { job: ChunkJob; transfer: ArrayBuffer[] } {
  const { data } = job;
  if (data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) {
    return { job, transfer: [data.buffer] };
  }
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return { job: { ...job, data: copy }, transfer: [copy.buffer] };
}

export class CpuBackend implements ComputeBackend {
  readonly name: string;
  private readonly slots: Slot[] = [];
  private readonly queue: { job: ChunkJob; p: Pending }[] = [];
  private readonly pending = new Map<number, { p: Pending; slot: Slot }>();
  private inline: WasmRowKernel | null = null;
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;

  constructor(threads = defaultThreads()) {
    this.name = threads > 0 ? `cpu-wasm-simd×${threads}` : 'cpu-wasm-simd-inline';
    if (threads <= 0) this.inline = new WasmRowKernel();
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = startWorker(new URL(`./cpu-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
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
      if ('error' in m) entry.p.reject(new Error(m.error));
      else entry.p.resolve(m.stats);
    }
    this.pump();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const { p } of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const { p } of this.queue.splice(0)) p.reject(e);
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const { job, p } = this.queue.shift()!;
      const id = this.nextId++;
      const t = transferable(job);
      slot.busy = true;
      slot.worker.ref();
      this.pending.set(id, { p, slot });
      slot.worker.postMessage({ id, job: t.job }, t.transfer);
    }
  }

  /** Per-row statistics of a chunk; the chunk's buffer is transferred to a worker (detached here). */
  rowStats(job: ChunkJob): Promise<ChunkStats> {
    if (this.closed) return Promise.reject(new Error('compute backend is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.inline) {
      try {
        return Promise.resolve(computeChunk(this.inline, job));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job, p: { resolve, reject } });
      this.pump();
    });
  }

  /** Terminates the workers; jobs still queued or running are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('compute backend closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
