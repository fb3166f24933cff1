/**
 * A pool of chunk-sized ArrayBuffers shared by the ranged reader (range-fetch.ts) and the statistics provider
 * (tensor-stats.ts). A fresh 8 MiB buffer per chunk costs more than the statistics themselves: every page faults in
 * on first write and the garbage collector unmaps it again (about 1.3 CPU seconds per GB measured here), so chunk
 * buffers go back to the pool once their statistics are computed.
 */

/** Buffers smaller than this are not worth pooling. */
const MIN_POOLED = 64 << 10;

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private retained = 0;

  constructor(readonly maxRetainedBytes = 128 << 20) {}

  /** A buffer of exactly `size` bytes owning its whole ArrayBuffer; its contents are undefined. */
  take(size: number): Buffer {
    const ab = size >= MIN_POOLED ? this.free.get(size)?.pop() : undefined;
    if (!ab) return Buffer.allocUnsafeSlow(size);
    this.retained -= size;
    return Buffer.from(ab);
  }

  /** Returns a buffer for reuse; the caller must not touch it afterwards. Ignored unless it spans a whole, plain ArrayBuffer. */
  give(view: Uint8Array): void {
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
    this.retained = 0;
  }
}

/** The process-wide pool used by default by range-fetch.ts and tensor-stats.ts. */
export const chunkBufferPool = new BufferPool();
