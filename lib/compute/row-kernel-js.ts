/**
 * The scalar reference kernel: per-row statistics in plain JavaScript for every supported dtype. It is the
 * fallback for dtypes and widths the SIMD kernel does not take (F8, a width not a multiple of 8), the slow path
 * for rows with NaN/Inf, and the oracle the SIMD kernel is tested against.
 */
import type { ChunkJob, ChunkStats, StatsDtype } from './backend.ts';
import { STATS_ITEM_SIZE, emptyChunkStats, foldRowHash } from './backend.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const i32 = new Int32Array(f32.buffer);

function bitsToF32(bits: number): number {
  u32[0] = bits;
  return f32[0];
}

/** IEEE half → float, for a 65,536-entry table. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** OCP FP8 E4M3 "fn" (as in torch.float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN. */
function e4m3ToFloat(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const e = (b >> 3) & 0xf;
  const m = b & 7;
  if (e === 0xf && m === 7) return NaN;
  return e === 0 ? sign * (m / 8) * 2 ** -6 : sign * (1 + m / 8) * 2 ** (e - 7);
}

/** OCP FP8 E5M2: IEEE-like with bias 15. */
function e5m2ToFloat(b: number): number {
  return halfToFloat(b << 8);
}

let halfTable: Float32Array | null = null;
const f8Tables: Partial<Record<StatsDtype, Float32Array>> = {};

function table(dtype: StatsDtype): Float32Array | null {
  if (dtype === 'F16') {
    if (!halfTable) {
      halfTable = new Float32Array(65536);
      for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
    }
    return halfTable;
  }
  if (dtype === 'F8_E4M3' || dtype === 'F8_E5M2') {
    let t = f8Tables[dtype];
    if (!t) {
      t = new Float32Array(256);
      for (let b = 0; b < 256; b++) t[b] = dtype === 'F8_E4M3' ? e4m3ToFloat(b) : e5m2ToFloat(b);
      f8Tables[dtype] = t;
    }
    return t;
  }
  return null;
}

/** Decodes one row into `out` (float32 values). */
export function decodeRow(data: Uint8Array, offset: number, dtype: StatsDtype, cols: number, out: Float32Array): void {
  const view = new DataView(data.buffer, data.byteOffset + offset, cols * STATS_ITEM_SIZE[dtype]);
  const t = table(dtype);
  for (let c = 0; c < cols; c++) {
    switch (dtype) {
      case 'BF16':
        out[c] = bitsToF32(view.getUint16(c * 2, true) << 16);
        break;
      case 'F16':
        out[c] = t![view.getUint16(c * 2, true)];
        break;
      case 'F32':
        out[c] = view.getFloat32(c * 4, true);
        break;
      default:
        out[c] = t![view.getUint8(c)];
    }
  }
}

/** Round half to even of a float32 value (what f32x4.nearest and torch.round do). */
function nearestEven(v: number): number {
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  return r;
}

/** The bit pattern of round(x·1000) in float32: Unsloth rounds rows to 3 decimals before hashing them. */
export function roundedBits(x: number): number {
  f32[0] = nearestEven(Math.fround(x * 1000));
  return i32[0];
}

/**
 * Statistics of one decoded row into `out` at index `row`: max and max|x| over finite values, sum and sum of
 * squares (float64), the rounded-row fingerprint, and NaN/Inf counts (returned).
 */
export function rowStatsOf(
  values: Float32Array,
  cols: number,
  out: ChunkStats,
  row: number,
): { nan: number; inf: number } {
  const words = new Int32Array(16);
  let max = -Infinity;
  let absMax = 0;
  let sum = 0;
  let sumSq = 0;
  let nan = 0;
  let inf = 0;
  let finite = 0;
  for (let c = 0; c < cols; c++) {
    const x = values[c];
    const lane = c & 7;
    words[lane] = (words[lane] + roundedBits(x)) | 0;
    words[8 + lane] = (words[8 + lane] + words[lane]) | 0;
    if (x !== x) {
      nan++;
      continue;
    }
    if (x === Infinity || x === -Infinity) {
      inf++;
      continue;
    }
    finite++;
    if (x > max) max = x;
    const a = Math.abs(x);
    if (a > absMax) absMax = a;
    sum += x;
    sumSq += x * x;
  }
  out.max[row] = finite ? max : NaN;
  out.absMax[row] = absMax;
  out.sum[row] = sum;
  out.sumSq[row] = sumSq;
  foldRowHash(words, 0, out.hash, row);
  return { nan, inf };
}

/** Computes the statistics of every row of a chunk with the scalar kernel. */
export function jsChunkStats(job: ChunkJob): ChunkStats {
  const out = emptyChunkStats(job.rows);
  const values = new Float32Array(job.cols);
  const rowBytes = job.cols * STATS_ITEM_SIZE[job.dtype];
  for (let r = 0; r < job.rows; r++) {
    decodeRow(job.data, r * rowBytes, job.dtype, job.cols, values);
    const { nan, inf } = rowStatsOf(values, job.cols, out, r);
    if (nan || inf) out.nonFinite.push({ row: r, nan, inf });
  }
  return out;
}
