/**
 * The TensorStatsProvider of the runner and the CLI: validates a tensor's place in its file, streams it with
 * ranged reads (tensor-stream.ts) and computes per-row statistics on a compute backend (compute/). The same code
 * runs over a LocalFolderSource and a HubSource.
 */
import type { RowStats, Snapshot, TensorInfo, TensorStatsProvider } from '../checks/types.ts';
import { MalformedTensorError, UnsupportedTensorError } from '../checks/weights/tensor-errors.ts';
import type { ByteSource } from './byte-source.ts';
import type { BufferPool } from './buffer-pool.ts';
import { chunkBufferPool } from './buffer-pool.ts';
import type { ChunkStats, ComputeBackend } from './compute/backend.ts';
import { STATS_DTYPES, STATS_ITEM_SIZE, isStatsDtype } from './compute/backend.ts';
import { CpuBackend } from './compute/cpu-backend.ts';
import { DTYPE_SIZES } from './safetensors-header.ts';
import type { TensorLayout } from './tensor-stream.ts';
import { streamTensorRows, tensorLayout } from './tensor-stream.ts';

export interface TensorStatsOptions {
  /** Bytes per ranged read (rounded to whole rows). Default 4 MiB. */
  chunkBytes?: number;
  /** Ranged reads in flight. Default 4. */
  parallel?: number;
  /** Compute worker threads; 0 computes on the calling thread. Default: one per core (1..8). */
  threads?: number;
  /** Another backend (e.g. a GPU one); it is closed by close(). */
  backend?: ComputeBackend;
  /** Where chunk buffers go back after use (default: the pool range-fetch.ts allocates from). */
  pool?: BufferPool;
}

export type ClosableStatsProvider = TensorStatsProvider & { close(): Promise<void>; readonly bytesRead: number };

/** Where the tensor's bytes are, after checking that the header's description can be true of the file. */
export function locateTensor(snapshot: Snapshot, tensor: TensorInfo): { layout: TensorLayout; cols: number } {
  const file = snapshot.safetensors?.files.find((f) => f.path === tensor.file);
  const fail = (why: string): never => {
    throw new MalformedTensorError(`${tensor.file}: tensor ${tensor.name}: ${why}`, tensor.file);
  };
  if (!file) return fail('the file has no header in the snapshot');
  if (file.error) return fail(`invalid header: ${file.error}`);
  if (!Array.isArray(tensor.shape) || tensor.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    fail(`invalid shape ${JSON.stringify(tensor.shape)}`);
  if (!isStatsDtype(tensor.dtype))
    throw new UnsupportedTensorError(
      `${tensor.name} is ${tensor.dtype}; row statistics support ${STATS_DTYPES.join(', ')}`,
    );
  if (tensor.shape.length !== 2 || tensor.shape.some((d) => d === 0))
    throw new UnsupportedTensorError(
      `${tensor.name} has shape ${JSON.stringify(tensor.shape)}, not a non-empty matrix`,
    );
  const [rows, cols] = tensor.shape;
  const [b, e] = tensor.dataOffsets;
  const bytes = rows * cols * DTYPE_SIZES[tensor.dtype];
  if (!Number.isSafeInteger(b) || b < 0) fail(`data_offsets start ${b} is not a byte offset`);
  if (e - b !== bytes) fail(`data_offsets ${b}-${e} hold ${e - b} bytes, shape × ${tensor.dtype} needs ${bytes}`);
  const layout = tensorLayout(tensor, file.headerLength, STATS_ITEM_SIZE[tensor.dtype]);
  if (layout.start + bytes > file.size)
    fail(`data ends at byte ${layout.start + bytes}, past the end of the file (${file.size} bytes)`);
  return { layout, cols };
}

/** Allocates a tensor's statistics, filled chunk by chunk. */
function emptyRowStats(tensor: TensorInfo, rows: number, cols: number): RowStats {
  return {
    tensor: tensor.name,
    file: tensor.file,
    dtype: tensor.dtype,
    rows,
    cols,
    max: new Float32Array(rows),
    absMax: new Float32Array(rows),
    norm: new Float32Array(rows),
    mean: new Float32Array(rows),
    roundedHash: new Uint32Array(rows * 2),
    nonFinite: [],
  };
}

function mergeChunk(out: RowStats, firstRow: number, s: ChunkStats): void {
  out.max.set(s.max, firstRow);
  out.absMax.set(s.absMax, firstRow);
  out.roundedHash.set(s.hash, firstRow * 2);
  for (let r = 0; r < s.rows; r++) {
    out.norm[firstRow + r] = Math.sqrt(s.sumSq[r]);
    out.mean[firstRow + r] = s.sum[r] / out.cols;
  }
  for (const n of s.nonFinite) out.nonFinite.push({ ...n, row: firstRow + n.row });
}

/**
 * Creates the statistics provider over a byte source and the snapshot that describes its files. Call close()
 * when done: it terminates the compute worker threads. `bytesRead` counts tensor bytes read so far.
 */
export function createTensorStatsProvider(
  source: ByteSource,
  snapshot: Snapshot,
  opts: TensorStatsOptions = {},
): ClosableStatsProvider {
  // Workers start now, so they are ready by the time the first chunk arrives.
  const backend: ComputeBackend = opts.backend ?? new CpuBackend(opts.threads);
  const counter = { bytes: 0 };
  const pool = opts.pool ?? chunkBufferPool;
  return {
    get bytesRead() {
      return counter.bytes;
    },
    async rowStats(tensor: TensorInfo, signal?: AbortSignal): Promise<RowStats> {
      const { layout, cols } = locateTensor(snapshot, tensor);
      const out = emptyRowStats(tensor, layout.rows, cols);
      const be = backend;
      const dtype = tensor.dtype as keyof typeof STATS_ITEM_SIZE;
      await streamTensorRows(
        source,
        layout,
        async (chunk) => {
          const stats = await be.rowStats({ data: chunk.data, dtype, rows: chunk.rows, cols });
          mergeChunk(out, chunk.firstRow, stats);
          pool.give(stats.input ?? chunk.data);
        },
        {
          chunkBytes: opts.chunkBytes,
          parallel: opts.parallel,
          signal,
          // A backend that computes shared chunks in place gets them read straight into its kernel's memory.
          alloc: be.sharedChunks ? (bytes) => pool.takeShared(bytes) : undefined,
        },
        counter,
      );
      out.nonFinite.sort((a, b) => a.row - b.row);
      return out;
    },
    async close() {
      await backend.close();
    },
  };
}
