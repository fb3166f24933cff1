import type { ChunkJob, ChunkStats } from './backend.ts';
import { STATS_ITEM_SIZE } from './backend.ts';
import { jsChunkStats } from './row-kernel-js.ts';
import type { WasmRowKernel } from './row-kernel-wasm.ts';
import { simdSupports } from './row-kernel-wasm.ts';

/**
 * Statistics of one chunk on the current thread: the SIMD kernel when it takes the dtype and width, else the
 * scalar kernel. Throws when the chunk is shorter than rows × cols elements.
 */
export function computeChunk(kernel: WasmRowKernel, job: ChunkJob): ChunkStats {
  const need = job.rows * job.cols * STATS_ITEM_SIZE[job.dtype];
  if (job.data.byteLength < need)
    throw new Error(
      `chunk holds ${job.data.byteLength} bytes, ${job.rows} rows × ${job.cols} ${job.dtype} need ${need}`,
    );
  const { dtype } = job;
  if (simdSupports(dtype, job.cols)) return kernel.run({ ...job, dtype });
  return jsChunkStats(job);
}
