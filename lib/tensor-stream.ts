/**
 * Streaming ranged read of one 2-D tensor in row-aligned chunks over a ByteSource: never the whole shard,
 * never the whole tensor in memory. `parallel` ranges are in flight at once; a chunk's buffer is released
 * when its consumer's promise settles, so memory stays near parallel × chunkBytes.
 */
import type { TensorInfo } from '../checks/types.ts';
import type { ByteSource } from './byte-source.ts';
import { SourceError } from './byte-source.ts';

export interface TensorStreamOptions {
  /** Target bytes per ranged read, rounded down to whole rows (at least one row). Default 4 MiB. */
  chunkBytes?: number;
  /** Ranged reads in flight at once. Default 4. */
  parallel?: number;
  signal?: AbortSignal;
  /**
   * Where a chunk of `bytes` bytes is read to, when the source can fill a given buffer (readRangeInto): e.g. shared
   * memory the compute kernel reads directly. Otherwise the source's readRange allocates.
   */
  alloc?: (bytes: number) => Uint8Array;
}

export const DEFAULT_CHUNK_BYTES = 4 << 20;
export const DEFAULT_PARALLEL = 4;

/** One chunk of whole rows. */
export interface RowChunk {
  data: Uint8Array;
  firstRow: number;
  rows: number;
}

/** Where a 2-D tensor's rows live in its file. */
export interface TensorLayout {
  file: string;
  /** Absolute byte offset of row 0 in the file (8 + header length + data_offsets[0]). */
  start: number;
  rows: number;
  rowBytes: number;
}

/** The row-aligned ranges a tensor is read in: [firstRow, rows] pairs. */
export function chunkPlan(
  layout: TensorLayout,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): { firstRow: number; rows: number }[] {
  const perChunk = Math.max(1, Math.floor(chunkBytes / Math.max(1, layout.rowBytes)));
  const plan: { firstRow: number; rows: number }[] = [];
  for (let r = 0; r < layout.rows; r += perChunk) plan.push({ firstRow: r, rows: Math.min(perChunk, layout.rows - r) });
  return plan;
}

/** The layout of a tensor given its file's header length; the caller has validated the header. */
export function tensorLayout(tensor: TensorInfo, headerLength: number, itemSize: number): TensorLayout {
  const [rows, cols] =
    tensor.shape.length === 1
      ? [1, tensor.shape[0]]
      : [tensor.shape[0], tensor.shape.slice(1).reduce((a, b) => a * b, 1)];
  return { file: tensor.file, start: 8 + headerLength + tensor.dataOffsets[0], rows, rowBytes: cols * itemSize };
}

/**
 * Reads every row of the tensor and hands each chunk to `onChunk` (chunks may arrive out of order; each says
 * where it starts). Counts bytes read in `counter.bytes`. Throws SourceError on a failed or short read, the
 * abort reason when `signal` aborts, or what `onChunk` threw; then no further ranges are started.
 */
export async function streamTensorRows(
  source: ByteSource,
  layout: TensorLayout,
  onChunk: (chunk: RowChunk) => void | Promise<void>,
  opts: TensorStreamOptions = {},
  counter: { bytes: number } = { bytes: 0 },
): Promise<void> {
  const plan = chunkPlan(layout, opts.chunkBytes);
  const lanes = Math.max(1, Math.min(opts.parallel ?? DEFAULT_PARALLEL, plan.length));
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < plan.length) {
      opts.signal?.throwIfAborted();
      const { firstRow, rows } = plan[next++];
      const from = layout.start + firstRow * layout.rowBytes;
      const want = rows * layout.rowBytes;
      let data: Uint8Array;
      if (opts.alloc && source.readRangeInto) {
        data = opts.alloc(want);
        await source.readRangeInto(layout.file, from, data);
      } else data = await source.readRange(layout.file, from, from + want);
      if (data.byteLength !== want) {
        throw new SourceError(
          `short read of ${layout.file}: asked for bytes ${from}-${from + want - 1}, got ${data.byteLength} bytes`,
          layout.file,
        );
      }
      counter.bytes += want;
      await onChunk({ data, firstRow, rows });
    }
  };
  // Settle every lane before returning, so no read or callback outlives a failure.
  const results = await Promise.allSettled(
    Array.from({ length: lanes }, () =>
      lane().catch((e: unknown) => {
        failed = true;
        throw e;
      }),
    ),
  );
  const firstError = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (firstError) throw firstError.reason;
}
