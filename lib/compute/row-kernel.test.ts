import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng, toBf16Bits } from '../../infra/fixtures/safetensors-writer.ts';
import type { ChunkStats, StatsDtype } from './backend.ts';
import { STATS_ITEM_SIZE } from './backend.ts';
import { decodeRow, jsChunkStats } from './row-kernel-js.ts';
import { WasmRowKernel, rowKernelModuleBytes, simdSupports } from './row-kernel-wasm.ts';

/** IEEE half bits of a float (round to nearest, enough for test data). */
function toF16Bits(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const s = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity || a >= 65520) return s | 0x7c00;
  if (a < 2 ** -14) return s | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return m === 1024 ? s | ((e + 16) << 10) : s | ((e + 15) << 10) | m;
}

/** Rows × cols values of the given dtype; `value(row, col)` overrides the seeded random value. */
function matrix(
  dtype: StatsDtype,
  rows: number,
  cols: number,
  value: (r: number, c: number) => number | undefined,
): Uint8Array {
  const rand = rng(7);
  const data = new Uint8Array(rows * cols * STATS_ITEM_SIZE[dtype]);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < rows * cols; i++) {
    const v = value(Math.floor(i / cols), i % cols) ?? (rand() - 0.5) * 0.08;
    if (dtype === 'BF16') dv.setUint16(i * 2, toBf16Bits(v), true);
    else if (dtype === 'F16') dv.setUint16(i * 2, toF16Bits(v), true);
    else dv.setFloat32(i * 4, v, true);
  }
  return data;
}

/** Special rows: 1 zero, 2 NaN, 3 -Inf, 4 subnormal-sized, 5 all negative, 6 = copy of row 0, 7 = row 0 with one value changed. */
const special =
  (cols: number) =>
  (r: number, c: number): number | undefined => {
    if (r === 1) return 0;
    if (r === 2 && c === 5) return NaN;
    if (r === 3 && c === cols - 1) return -Infinity;
    if (r === 4) return (c % 3) * 3e-8;
    if (r === 5) return -0.01 - c * 1e-4;
    if (r === 6 || r === 7) return c === 0 && r === 7 ? 0.04 : 0.03 * Math.cos(c);
    if (r === 0) return 0.03 * Math.cos(c);
    return undefined;
  };

function assertClose(a: ChunkStats, b: ChunkStats, rows: number): void {
  for (let r = 0; r < rows; r++) {
    assert.ok(Object.is(a.max[r], b.max[r]) || a.max[r] === b.max[r], `max row ${r}: ${a.max[r]} vs ${b.max[r]}`);
    assert.equal(a.absMax[r], b.absMax[r], `absMax row ${r}`);
    assert.ok(Math.abs(a.sumSq[r] - b.sumSq[r]) <= 1e-5 * b.sumSq[r] + 1e-30, `sumSq row ${r}`);
    assert.ok(Math.abs(a.sum[r] - b.sum[r]) <= 1e-5 * Math.sqrt(b.sumSq[r] * 64) + 1e-30, `sum row ${r}`);
    assert.deepEqual([a.hash[2 * r], a.hash[2 * r + 1]], [b.hash[2 * r], b.hash[2 * r + 1]], `hash row ${r}`);
  }
  assert.deepEqual(a.nonFinite, b.nonFinite);
}

describe('row kernels', () => {
  it('the hand-assembled module validates', () => {
    assert.ok(WebAssembly.validate(rowKernelModuleBytes()));
  });

  for (const dtype of ['BF16', 'F16', 'F32'] as const) {
    it(`SIMD and scalar kernels agree on ${dtype}, including NaN, Inf, subnormal and negative rows`, () => {
      const rows = 40;
      const cols = 72;
      const data = matrix(dtype, rows, cols, special(cols));
      const job = { data, dtype, rows, cols };
      assert.ok(simdSupports(dtype, cols));
      const simd = new WasmRowKernel().run(job);
      const js = jsChunkStats(job);
      assertClose(simd, js, rows);
      assert.deepEqual(simd.nonFinite, [
        { row: 2, nan: 1, inf: 0 },
        { row: 3, nan: 0, inf: 1 },
      ]);
      assert.equal(simd.max[1], 0);
      assert.ok(simd.max[5] < 0, 'row max, not max |x|');
      assert.ok(simd.absMax[4] > 0 && simd.absMax[4] < 1e-6);
      assert.deepEqual([simd.hash[12], simd.hash[13]], [simd.hash[0], simd.hash[1]], 'equal rows hash alike');
      assert.notDeepEqual(
        [simd.hash[14], simd.hash[15]],
        [simd.hash[0], simd.hash[1]],
        'a changed row hashes differently',
      );
    });
  }

  it('decodes F16 subnormals and infinities, and FP8 E4M3 / E5M2', () => {
    const out = new Float32Array(4);
    decodeRow(new Uint8Array([0x01, 0x00, 0x00, 0x7c, 0x00, 0xfc, 0x00, 0x3c]), 0, 'F16', 4, out);
    assert.deepEqual([...out], [2 ** -24, Infinity, -Infinity, 1]);
    decodeRow(new Uint8Array([0x38, 0x7e, 0x7f, 0x01]), 0, 'F8_E4M3', 4, out);
    assert.deepEqual(
      [...out].map((x) => (Number.isNaN(x) ? 'NaN' : x)),
      [1, 448, 'NaN', 2 ** -9],
    );
    decodeRow(new Uint8Array([0x3c, 0x7c, 0x7b, 0x01]), 0, 'F8_E5M2', 4, out);
    assert.deepEqual([...out], [1, Infinity, 57344, 2 ** -16]);
  });

  it('rounds to 3 decimals before hashing, as Unsloth does: rows equal after rounding hash alike', () => {
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    const da = new DataView(a.buffer);
    const db = new DataView(b.buffer);
    for (let c = 0; c < 8; c++) {
      da.setFloat32(c * 4, 0.5 + c / 100, true);
      db.setFloat32(c * 4, 0.5 + c / 100 + 0.0002, true);
    }
    const k = new WasmRowKernel();
    const ha = k.run({ data: a, dtype: 'F32', rows: 1, cols: 8 }).hash;
    const hb = k.run({ data: b, dtype: 'F32', rows: 1, cols: 8 }).hash;
    assert.deepEqual([...ha], [...hb]);
    db.setFloat32(0, 0.5008, true);
    assert.notDeepEqual([...k.run({ data: b, dtype: 'F32', rows: 1, cols: 8 }).hash], [...ha]);
  });

  it('falls back to the scalar kernel for widths that are not whole SIMD steps', () => {
    assert.equal(simdSupports('BF16', 12), false);
    const s = jsChunkStats({
      data: matrix('BF16', 3, 12, (r) => (r === 1 ? 0 : undefined)),
      dtype: 'BF16',
      rows: 3,
      cols: 12,
    });
    assert.equal(s.sumSq[1], 0);
    assert.ok(s.sumSq[0] > 0);
  });
});
