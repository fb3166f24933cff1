/**
 * The SIMD kernel: per-row max, max|x|, sum, sum of squares and the rounded-row fingerprint of BF16, F16 and F32
 * rows, hand-assembled WebAssembly (128-bit SIMD). One pass over the bytes, 8 elements per step; each row leaves
 * its 8 accumulator vectors (128 bytes) for JavaScript to reduce. Rows whose sums are not finite are recounted by
 * the scalar kernel, which also counts NaN/Inf, so the SIMD loop needs no NaN handling (it uses pmax).
 */
import type { ChunkJob, ChunkStats, StatsDtype } from './backend.ts';
import { STATS_ITEM_SIZE, emptyChunkStats, foldRowHash } from './backend.ts';
import { decodeRow, rowStatsOf } from './row-kernel-js.ts';
import { FuncBody, I32, V128, encodeModule } from './wasm-asm.ts';

export type SimdDtype = 'BF16' | 'F16' | 'F32';
/** Bytes of accumulators the kernel leaves per row (8 vectors of 16 bytes). */
export const OUT_ROW_BYTES = 128;

// Locals: params 0 in, 1 rows, 2 rowBytes, 3 out; i32 4 p, 5 rowEnd, 6 r;
// v128 7 vmax, 8 vabs, 9 vsum, 10 vsq, 11 alo, 12 ahi, 13 blo, 14 bhi, 15 x, 16 lo, 17 hi, 18 t, 19 k1000.
const [P, ROW_END, R, VMAX, VABS, VSUM, VSQ, ALO, AHI, BLO, BHI, X, LO, HI, T, K1000] = [
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
];
const LOCALS = [I32, I32, I32, ...Array<number>(13).fill(V128)];

/** f16 lanes (zero-extended to u32) → f32, in place: exponent rebias by multiplying by 2^112 handles subnormals. */
function halfToFloat(f: FuncBody, v: number): void {
  f.get(v).splat32(0x7fff).simd('v128.and').set(T);
  f.get(T).i32(13).simd('i32x4.shl').splat32(0x77800000).simd('f32x4.mul');
  f.get(T).splat32(0x7bff).simd('i32x4.gt_s').splat32(0x7f800000).simd('v128.and').simd('v128.or');
  f.get(v).i32(16).simd('i32x4.shl').splat32(0x80000000).simd('v128.and').simd('v128.or');
  f.set(v);
}

/** Loads the next 8 elements at p into LO (elements 0-3) and HI (4-7) as f32 lanes, and advances p. */
function load8(f: FuncBody, dtype: SimdDtype): void {
  if (dtype === 'F32') {
    f.get(P).mem('v128.load', 0).set(LO);
    f.get(P).mem('v128.load', 16).set(HI);
    f.get(P).i32(32).op(0x6a).set(P);
    return;
  }
  f.get(P).mem('v128.load', 0).set(X);
  f.get(X).simd('i32x4.extend_low_i16x8_u').set(LO);
  f.get(X).simd('i32x4.extend_high_i16x8_u').set(HI);
  if (dtype === 'BF16') {
    f.get(LO).i32(16).simd('i32x4.shl').set(LO);
    f.get(HI).i32(16).simd('i32x4.shl').set(HI);
  } else {
    halfToFloat(f, LO);
    halfToFloat(f, HI);
  }
  f.get(P).i32(16).op(0x6a).set(P);
}

/** Accumulates LO/HI into the row's accumulators (one dependent op per chain per step). */
function accumulate(f: FuncBody): void {
  f.get(VMAX).get(LO).get(HI).simd('f32x4.pmax').simd('f32x4.pmax').set(VMAX);
  f.get(VABS).get(LO).simd('f32x4.abs').get(HI).simd('f32x4.abs').simd('f32x4.pmax').simd('f32x4.pmax').set(VABS);
  f.get(VSUM).get(LO).get(HI).simd('f32x4.add').simd('f32x4.add').set(VSUM);
  f.get(VSQ)
    .get(LO)
    .get(LO)
    .simd('f32x4.mul')
    .get(HI)
    .get(HI)
    .simd('f32x4.mul')
    .simd('f32x4.add')
    .simd('f32x4.add')
    .set(VSQ);
  // Fletcher sums of the bits of round(x*1000): a += q; b += a (per lane, position-sensitive).
  for (const [v, a, b] of [
    [LO, ALO, BLO],
    [HI, AHI, BHI],
  ]) {
    f.get(a).get(v).get(K1000).simd('f32x4.mul').simd('f32x4.nearest').simd('i32x4.add').tee(a);
    f.get(b).simd('i32x4.add').set(b);
  }
}

function rowsFunction(dtype: SimdDtype): FuncBody {
  const f = new FuncBody();
  f.get(0).set(P).i32(0).set(R).splat32(0x447a0000).set(K1000);
  f.block().loop();
  f.get(R).get(1).op(0x4f).brIf(1); // r >= rows → done
  f.splat32(0xff800000).set(VMAX);
  for (const v of [VABS, VSUM, VSQ, ALO, AHI, BLO, BHI]) f.splat32(0).set(v);
  f.get(P).get(2).op(0x6a).set(ROW_END);
  f.loop();
  load8(f, dtype);
  accumulate(f);
  f.get(P).get(ROW_END).op(0x49).brIf(0); // p < rowEnd → next step
  f.end();
  [VMAX, VABS, VSUM, VSQ, ALO, AHI, BLO, BHI].forEach((v, i) =>
    f
      .get(3)
      .get(v)
      .mem('v128.store', i * 16),
  );
  f.get(3).i32(OUT_ROW_BYTES).op(0x6a).set(3);
  f.get(R).i32(1).op(0x6a).set(R);
  f.br(0).end().end();
  return f;
}

/** Largest shared memory the shared-memory kernel accepts (pages of 64 KiB: 4 GiB, all of wasm32). */
export const SHARED_MAX_PAGES = 65536;

/**
 * The kernel module's bytes (exports `mem`, `bf16`, `f16`, `f32`: (in, rows, rowBytes, out) → ()). With `shared`
 * it imports its memory (`env.mem`, a shared WebAssembly.Memory) instead of owning one, so it reads rows where a
 * reader put them.
 */
export function rowKernelModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  const params = [I32, I32, I32, I32];
  return encodeModule(
    (['BF16', 'F16', 'F32'] as const).map((d) => ({
      name: d.toLowerCase(),
      params,
      locals: LOCALS,
      body: rowsFunction(d),
    })),
    1,
    shared ? { maxPages: SHARED_MAX_PAGES } : undefined,
  );
}

/** True when the SIMD kernel can take this chunk shape (whole 8-element steps). */
export function simdSupports(dtype: StatsDtype, cols: number): dtype is SimdDtype {
  return (dtype === 'BF16' || dtype === 'F16' || dtype === 'F32') && cols > 0 && cols % 8 === 0;
}

let compiled: WebAssembly.Module | null = null;
let compiledShared: WebAssembly.Module | null = null;

/** The kernel module, compiled once per thread (a Module can be sent to worker threads). */
export function rowKernelModule(): WebAssembly.Module {
  return (compiled ??= new WebAssembly.Module(rowKernelModuleBytes()));
}

/** The kernel module over an imported shared memory (rowKernelModuleBytes(true)), compiled once per thread. */
export function rowKernelSharedModule(): WebAssembly.Module {
  return (compiledShared ??= new WebAssembly.Module(rowKernelModuleBytes(true)));
}

/**
 * Reduces the kernel's per-row accumulators (OUT_ROW_BYTES per row, from `offset` in `buffer`) to the chunk's
 * statistics; rows whose sums are not finite are recounted exactly from `job.data`.
 */
export function reduceAccumulators(
  job: ChunkJob & { dtype: SimdDtype },
  buffer: ArrayBufferLike,
  offset: number,
): ChunkStats {
  const out = emptyChunkStats(job.rows);
  const fl = new Float32Array(buffer, offset, job.rows * 32);
  const words = new Int32Array(buffer, offset, job.rows * 32);
  let scratch: Float32Array | null = null;
  for (let r = 0; r < job.rows; r++) {
    const b = r * 32;
    const sum = fl[b + 8] + fl[b + 9] + fl[b + 10] + fl[b + 11];
    const sumSq = fl[b + 12] + fl[b + 13] + fl[b + 14] + fl[b + 15];
    if (!Number.isFinite(sum) || !Number.isFinite(sumSq)) {
      // NaN, Inf or float32 overflow somewhere in the row: recount it exactly.
      scratch ??= new Float32Array(job.cols);
      decodeRow(job.data, r * job.cols * STATS_ITEM_SIZE[job.dtype], job.dtype, job.cols, scratch);
      const { nan, inf } = rowStatsOf(scratch, job.cols, out, r);
      if (nan || inf) out.nonFinite.push({ row: r, nan, inf });
      continue;
    }
    out.max[r] = Math.max(fl[b], fl[b + 1], fl[b + 2], fl[b + 3]);
    out.absMax[r] = Math.max(fl[b + 4], fl[b + 5], fl[b + 6], fl[b + 7]);
    out.sum[r] = sum;
    out.sumSq[r] = sumSq;
    foldRowHash(words, b + 16, out.hash, r);
  }
  return out;
}

/** One instance of the SIMD kernel with its own linear memory (one per thread). */
export class WasmRowKernel {
  private readonly memory: WebAssembly.Memory;
  private readonly fns: Record<SimdDtype, (inPtr: number, rows: number, rowBytes: number, out: number) => void>;

  constructor(module: WebAssembly.Module = rowKernelModule()) {
    const inst = new WebAssembly.Instance(module, {});
    const ex = inst.exports as Record<string, unknown>;
    this.memory = ex.mem as WebAssembly.Memory;
    this.fns = { BF16: ex.bf16 as never, F16: ex.f16 as never, F32: ex.f32 as never };
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Statistics of a chunk whose dtype and width pass simdSupports. */
  run(job: ChunkJob & { dtype: SimdDtype }): ChunkStats {
    const rowBytes = job.cols * STATS_ITEM_SIZE[job.dtype];
    const inBytes = job.rows * rowBytes;
    const outPtr = Math.ceil(inBytes / 16) * 16;
    this.ensure(outPtr + job.rows * OUT_ROW_BYTES);
    new Uint8Array(this.memory.buffer, 0, inBytes).set(job.data.subarray(0, inBytes));
    this.fns[job.dtype](0, job.rows, rowBytes, outPtr);
    return reduceAccumulators(job, this.memory.buffer, outPtr);
  }
}
