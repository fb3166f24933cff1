import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bf16Matrix } from '../../infra/fixtures/safetensors-writer.ts';
import { BufferPool, kernelMemoryOf } from '../buffer-pool.ts';
import type { ChunkStats } from './backend.ts';
import { CpuBackend } from './cpu-backend.ts';
import { jsChunkStats } from './row-kernel-js.ts';

/** Rows with a NaN, an Inf, all zeros, and values whose squares overflow float32 (the exact recount path). */
const specialRow = (r: number, c: number): number | undefined =>
  r === 3 ? 0 : r === 17 && c === 9 ? NaN : r === 40 && c === 0 ? -Infinity : r === 77 ? 3e38 : undefined;

/** Each statistic's bytes, so equality is bit-for-bit (NaN and −0 included). */
function bits(s: ChunkStats) {
  const b = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
  return { max: b(s.max), absMax: b(s.absMax), sum: b(s.sum), sumSq: b(s.sumSq), hash: b(s.hash), nf: s.nonFinite };
}

describe('CPU backend', () => {
  it('computes a chunk read into a pool kernel memory in place, split over the workers, bit-identical', async () => {
    // 200 rows per slice: each worker runs the kernel over its slice in several scratch-sized batches.
    const rows = 600;
    const cols = 64;
    const bytes = bf16Matrix(rows, cols, 6, 0.02, specialRow).data;
    const pool = new BufferPool();
    const chunk = pool.takeShared(bytes.byteLength);
    chunk.set(bytes);
    assert.ok(kernelMemoryOf(chunk.buffer), 'the chunk lies in a shared WebAssembly.Memory');
    const many = new CpuBackend(3, { minSliceBytes: 1 });
    const inline = new CpuBackend(0);
    try {
      assert.equal(many.sharedChunks, true);
      assert.equal(inline.sharedChunks, false);
      const job = { data: chunk, dtype: 'BF16' as const, rows, cols };
      const expected = bits(await inline.rowStats({ ...job, data: bytes.slice() }));
      // Twice: the second time each worker reuses its kernel instance over the same memory.
      for (let i = 1; i <= 2; i++) {
        const got = await many.rowStats(job);
        assert.equal(many.partsSent, 3 * i, 'one slice per worker');
        assert.deepEqual(bits(got), expected);
        assert.ok(Number.isFinite(got.sumSq[77]) && got.sumSq[77] > 5e78, 'overflowing row recounted in place');
        assert.equal(got.input, chunk);
      }
      assert.deepEqual([...chunk], [...bytes], 'the kernel does not write into the rows');
      pool.give(chunk);
      assert.equal(pool.takeShared(bytes.byteLength).buffer, chunk.buffer, 'the pool hands the memory out again');
    } finally {
      await Promise.all([many.close(), inline.close()]);
    }
  });

  it('splits a chunk in shared memory over the workers, bit-identical to one thread and to the inline kernel', async () => {
    const rows = 101;
    const cols = 64;
    const bytes = bf16Matrix(rows, cols, 5, 0.02, specialRow).data;
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    const one = new CpuBackend(1);
    const many = new CpuBackend(3, { minSliceBytes: 1 });
    const inline = new CpuBackend(0);
    try {
      const job = { data: shared, dtype: 'BF16' as const, rows, cols };
      const [a, b] = await Promise.all([one.rowStats(job), many.rowStats(job)]);
      const c = await inline.rowStats({ ...job, data: bytes.slice() });
      assert.equal(one.partsSent, 1);
      assert.equal(many.partsSent, 3, 'one slice per worker');
      assert.deepEqual(bits(b), bits(a));
      assert.deepEqual(bits(b), bits(c));
      assert.deepEqual(
        b.nonFinite.map((n) => n.row),
        [17, 40],
      );
      assert.equal(b.sumSq[3], 0);
      // 64 × (3e38)² overflows float32: the row was recounted exactly (float64) from the shared slice.
      assert.ok(Number.isFinite(b.sumSq[77]) && b.sumSq[77] > 5e78, `row 77 sumSq ${b.sumSq[77]}`);
      assert.equal(shared.byteLength, bytes.byteLength, 'a shared chunk is not detached');
      assert.equal(b.input, shared);
      // A slice is never smaller than minSliceBytes: a 3-worker backend with the default keeps a small chunk whole.
      const whole = new CpuBackend(3);
      try {
        assert.deepEqual(bits(await whole.rowStats(job)), bits(a));
        assert.equal(whole.partsSent, 1);
      } finally {
        await whole.close();
      }
    } finally {
      await Promise.all([one.close(), many.close(), inline.close()]);
    }
  });

  it('gives the same statistics on worker threads as inline, and transfers chunks instead of copying', async () => {
    const rows = 64;
    const cols = 32;
    const chunks = [1, 2, 3, 4].map(
      (seed) => bf16Matrix(rows, cols, seed, 0.02, (r) => (r === seed ? 0 : undefined)).data,
    );
    const expected = chunks.map((data) => jsChunkStats({ data: data.slice(), dtype: 'BF16', rows, cols }));
    const pool = new CpuBackend(2);
    try {
      const got = await Promise.all(chunks.map((data) => pool.rowStats({ data, dtype: 'BF16', rows, cols })));
      assert.equal(chunks[0].byteLength, 0, 'the chunk buffer moved to the worker');
      got.forEach((g, i) => {
        assert.deepEqual([...g.hash], [...expected[i].hash]);
        assert.deepEqual([...g.max], [...expected[i].max]);
        assert.equal(g.sumSq[i + 1], 0);
      });
    } finally {
      await pool.close();
    }
  });

  it('rejects a chunk shorter than rows × cols with a clear error, and rejects work after close', async () => {
    const pool = new CpuBackend(1);
    await assert.rejects(
      pool.rowStats({ data: new Uint8Array(10), dtype: 'BF16', rows: 2, cols: 8 }),
      /chunk holds 10 bytes, 2 rows × 8 BF16 need 32/,
    );
    await pool.close();
    await assert.rejects(pool.rowStats({ data: new Uint8Array(32), dtype: 'BF16', rows: 2, cols: 8 }), /closed/);
    const inline = new CpuBackend(0);
    assert.equal((await inline.rowStats({ data: new Uint8Array(32), dtype: 'BF16', rows: 2, cols: 8 })).rows, 2);
    await inline.close();
  });
});
