/**
 * A pool of chunk-sized buffers shared by the ranged reader (range-fetch.ts), the local folder source and the
 * statistics provider (tensor-stats.ts). A fresh 8 MiB buffer per chunk costs more than the statistics themselves:
 * every page faults in on first write and the garbage collector unmaps it again (about 1.3 CPU seconds per GB
 * measured here), so chunk buffers go back to the pool once their statistics are computed.
 *
 * Two kinds: plain ArrayBuffers (take), which can be transferred to a worker thread, and shared buffers (takeShared):
 * the memory of a shared WebAssembly.Memory, which every compute worker can run its kernel over where the bytes lie
 * (no copy), followed by scratch space for the kernel's per-row output.
 */

/** Buffers smaller than this are not worth pooling. */
const MIN_POOLED = 64 << 10;
const PAGE = 65536;

/** Bytes of scratch after a shared buffer's data: 8 workers × 64 rows × 128 bytes of kernel accumulators. */
export const SHARED_SCRATCH_BYTES = 64 << 10;

/** The WebAssembly memory behind a shared buffer, and where its data and scratch space are. */
export interface KernelMemory {
  memory: WebAssembly.Memory;
  /** Unique per memory (for workers that cache a kernel instance per memory). */
  id: number;
  /** Data bytes, at offset 0. */
  size: number;
  /** Offset of SHARED_SCRATCH_BYTES of scratch space (16-byte aligned, after the data). */
  scratch: number;
}

const kernelMemories = new WeakMap<SharedArrayBuffer, KernelMemory>();
let nextMemoryId = 1;

/** The kernel memory a buffer belongs to, when it came from takeShared. */
export function kernelMemoryOf(buffer: ArrayBufferLike): KernelMemory | undefined {
  return typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer
    ? kernelMemories.get(buffer)
    : undefined;
}

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly freeShared = new Map<number, KernelMemory[]>();
  private retained = 0;

  constructor(readonly maxRetainedBytes = 128 << 20) {}

  /** A buffer of exactly `size` bytes owning its whole ArrayBuffer; its contents are undefined. */
  take(size: number): Buffer {
    const ab = size >= MIN_POOLED ? this.free.get(size)?.pop() : undefined;
    if (!ab) return Buffer.allocUnsafeSlow(size);
    this.retained -= size;
    return Buffer.from(ab);
  }

  /**
   * A buffer of exactly `size` bytes at offset 0 of a shared WebAssembly.Memory (kernelMemoryOf tells which);
   * its contents are undefined.
   */
  takeShared(size: number): Buffer {
    let km = size >= MIN_POOLED ? this.freeShared.get(size)?.pop() : undefined;
    if (km) this.retained -= size;
    else {
      const scratch = Math.ceil(size / 16) * 16;
      const pages = Math.ceil((scratch + SHARED_SCRATCH_BYTES) / PAGE);
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      km = { memory, id: nextMemoryId++, size, scratch };
      kernelMemories.set(memory.buffer as unknown as SharedArrayBuffer, km);
    }
    return Buffer.from(km.memory.buffer, 0, size);
  }

  /**
   * Returns a buffer for reuse; the caller must not touch it afterwards. Ignored unless it spans a whole, plain
   * ArrayBuffer or the whole data of a shared buffer from takeShared.
   */
  give(view: Uint8Array): void {
    const km = kernelMemoryOf(view.buffer);
    if (km) {
      if (view.byteOffset !== 0 || view.byteLength !== km.size || km.size < MIN_POOLED) return;
      if (this.retained + km.size > this.maxRetainedBytes) return;
      const list = this.freeShared.get(km.size) ?? [];
      if (list.includes(km)) return;
      list.push(km);
      this.freeShared.set(km.size, list);
      this.retained += km.size;
      return;
    }
    const ab = view.buffer;
    const size = ab.byteLength;
    if (!(ab instanceof ArrayBuffer) || size < MIN_POOLED || view.byteOffset !== 0 || view.byteLength !== size) return;
    if (this.retained + size > this.maxRetainedBytes) return;
    const list = this.free.get(size) ?? [];
    if (list.includes(ab)) return;
    list.push(ab);
    this.free.set(size, list);
    this.retained += size;
  }

  /** Drops every retained buffer. */
  clear(): void {
    this.free.clear();
    this.freeShared.clear();
    this.retained = 0;
  }
}

/** The process-wide pool used by default by range-fetch.ts, local-source.ts and tensor-stats.ts. */
export const chunkBufferPool = new BufferPool();
