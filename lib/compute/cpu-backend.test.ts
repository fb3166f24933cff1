import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bf16Matrix } from '../../infra/fixtures/safetensors-writer.ts';
import { CpuBackend } from './cpu-backend.ts';
import { jsChunkStats } from './row-kernel-js.ts';

describe('CPU backend', () => {
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
