/**
 * The compute backend interface of the runner: per-row statistics of a row-aligned chunk of a 2-D tensor, and the
 * difference of a release matrix from its base (norms, bitwise identity, leading singular values of ΔW by
 * randomized SVD). Two backends: `cpu` (cpu-backend.ts: WebAssembly SIMD on worker threads, randomized SVD in
 * TypeScript) and `torch` (torch-backend.ts: a long-lived Python worker, CUDA when present).
 */

import { DTYPE_SIZES } from '../safetensors-header.ts';

/** Element types the backends understand (safetensors dtype names). */
export const STATS_DTYPES = ['BF16', 'F16', 'F32', 'F8_E4M3', 'F8_E5M2'] as const;
export type StatsDtype = (typeof STATS_DTYPES)[number];

/** Bytes per element, from the one dtype table (safetensors-header.ts). */
export const STATS_ITEM_SIZE = Object.fromEntries(STATS_DTYPES.map((d) => [d, DTYPE_SIZES[d]])) as Record<
  StatsDtype,
  number
>;

export function isStatsDtype(d: string): d is StatsDtype {
  return (STATS_DTYPES as readonly string[]).includes(d);
}

/** One chunk of whole rows, little-endian, as read from the file. */
export interface ChunkJob {
  data: Uint8Array;
  dtype: StatsDtype;
  rows: number;
  cols: number;
}

/** A row holding NaN or ±Inf (its other statistics are over its finite values only). */
export interface NonFiniteRow {
  row: number;
  nan: number;
  inf: number;
}

/**
 * Statistics of each row of a chunk (index 0 = the chunk's first row).
 * `hash` holds two 32-bit words per row: a fingerprint of the row rounded to 3 decimals (Unsloth's duplicate test).
 */
export interface ChunkStats {
  rows: number;
  max: Float32Array;
  absMax: Float32Array;
  sum: Float64Array;
  sumSq: Float64Array;
  hash: Uint32Array;
  nonFinite: NonFiniteRow[];
  /** The chunk's bytes, handed back by a backend that took ownership of them, so the caller can reuse the buffer. */
  input?: Uint8Array;
}

export function emptyChunkStats(rows: number): ChunkStats {
  return {
    rows,
    max: new Float32Array(rows),
    absMax: new Float32Array(rows),
    sum: new Float64Array(rows),
    sumSq: new Float64Array(rows),
    hash: new Uint32Array(rows * 2),
    nonFinite: [],
  };
}

/** One comparison of a release matrix with its base: the rows compared (the same rows of both) and the sketch. */
export interface DeltaSpec {
  rows: number;
  cols: number;
  releaseDtype: StatsDtype;
  baseDtype: StatsDtype;
  /** Singular values wanted (the randomized SVD's sketch size). */
  q: number;
  /** Power iterations of the randomized SVD. */
  niter: number;
  seed: number;
}

/** What a backend computes of ΔW = W_release − W_base over the rows it was given. */
export interface DeltaStats {
  /** Every value equal (bitwise when both sides have the same dtype). */
  identical: boolean;
  sumSqDelta: number;
  sumSqBase: number;
  sumSqRelease: number;
  /** ⟨W_release, W_base⟩ (for the cosine). */
  dot: number;
  /** Cells where either side is NaN or ±Inf (left out of the sums, zero in ΔW). */
  nonFinite: number;
  /** Leading singular values of ΔW, descending (empty when identical). */
  singularValues: number[];
}

/** A comparison in progress: chunks of the same rows of both sides, in any order, then finish(). */
export interface DeltaSession {
  add(firstRow: number, rows: number, release: Uint8Array, base: Uint8Array): Promise<void>;
  finish(): Promise<DeltaStats>;
  /** Frees what the session holds without computing. */
  abort(): void;
}

/** A compute backend. `rowStats` may take ownership of (detach) the chunk's buffer. */
export interface ComputeBackend {
  readonly name: string;
  /** Where the work runs, e.g. `cpu` or `cuda:0 (NVIDIA H100 80GB HBM3)`. */
  readonly device: string;
  rowStats(job: ChunkJob): Promise<ChunkStats>;
  /**
   * True when chunks read into shared buffers from the buffer pool (BufferPool.takeShared) are computed where they
   * lie; readers that can fill a given buffer then use those (tensor-stats.ts).
   */
  readonly sharedChunks?: boolean;
  /** Starts comparing rows of a release matrix with the same rows of its base. */
  openDelta(spec: DeltaSpec): DeltaSession;
  /** Releases threads or devices; pending jobs are rejected. */
  close(): Promise<void>;
}

/**
 * Folds the 16 per-lane Fletcher words of a row (8 running sums, 8 sums of running sums) into a 64-bit
 * fingerprint written at out[2*row], out[2*row+1]. Both kernels produce the same words, so the same rows hash alike.
 */
export function foldRowHash(words: ArrayLike<number>, base: number, out: Uint32Array, row: number): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < 16; i++) {
    const w = words[base + i] | 0;
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ (w >>> 7) ^ (w << 25), 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  out[2 * row] = h1 >>> 0;
  out[2 * row + 1] = h2 >>> 0;
}
