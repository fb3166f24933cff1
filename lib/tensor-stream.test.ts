import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ByteSource } from './byte-source.ts';
import { SourceError } from './byte-source.ts';
import type { RowChunk, TensorLayout } from './tensor-stream.ts';
import { chunkPlan, streamTensorRows } from './tensor-stream.ts';

/** A source over one in-memory file that logs its ranged reads and can cut the file short. */
function source(bytes: Uint8Array, opts: { truncateAt?: number; delayMs?: number } = {}) {
  const reads: [number, number][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const src: ByteSource = {
    label: 'mem',
    listFiles: async () => [{ path: 'f', size: bytes.length }],
    readRange: async (_p, start, end) => {
      reads.push([start, end]);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
      inFlight--;
      return bytes.slice(start, Math.min(end, opts.truncateAt ?? end));
    },
    readText: async () => '',
    async *stream() {},
  };
  return { src, reads, maxInFlight: () => maxInFlight };
}

const layout: TensorLayout = { file: 'f', start: 100, rows: 10, rowBytes: 24 };
const file = Uint8Array.from({ length: 100 + 240 + 50 }, (_, i) => i & 0xff);

describe('streaming ranged tensor reads', () => {
  it('plans row-aligned chunks of at most chunkBytes (at least one row)', () => {
    assert.deepEqual(
      chunkPlan(layout, 50),
      [0, 2, 4, 6, 8].map((r) => ({ firstRow: r, rows: 2 })),
    );
    assert.deepEqual(chunkPlan(layout, 1).length, 10);
    assert.deepEqual(chunkPlan(layout, 1 << 20), [{ firstRow: 0, rows: 10 }]);
  });

  it('reads exactly the tensor bytes, in parallel ranges, and hands over every row once', async () => {
    const s = source(file, { delayMs: 5 });
    const chunks: RowChunk[] = [];
    const counter = { bytes: 0 };
    await streamTensorRows(s.src, layout, (c) => void chunks.push(c), { chunkBytes: 72, parallel: 3 }, counter);
    assert.equal(counter.bytes, 240);
    assert.equal(s.maxInFlight(), 3);
    assert.ok(s.reads.every(([a, b]) => a >= 100 && b <= 340 && (a - 100) % 24 === 0 && (b - a) % 24 === 0));
    const rows = chunks
      .sort((a, b) => a.firstRow - b.firstRow)
      .flatMap((c) => Array.from({ length: c.rows }, (_, i) => c.firstRow + i));
    assert.deepEqual(rows, [...Array(10).keys()]);
    const c0 = chunks[0];
    assert.deepEqual([...c0.data.subarray(0, 3)], [100, 101, 102]);
  });

  it('fails with a SourceError on a short read and starts no further ranges', async () => {
    const s = source(file, { truncateAt: 200 });
    await assert.rejects(
      streamTensorRows(s.src, layout, () => {}, { chunkBytes: 48, parallel: 1 }),
      (e: Error) => e instanceof SourceError && /short read of f: asked for bytes 196-243, got 4 bytes/.test(e.message),
    );
    assert.equal(s.reads.length, 3);
  });

  it('stops when the signal aborts and when the consumer throws', async () => {
    const ac = new AbortController();
    const s = source(file);
    let seen = 0;
    await assert.rejects(
      streamTensorRows(
        s.src,
        layout,
        () => {
          if (++seen === 2) ac.abort(new Error('time limit'));
        },
        { chunkBytes: 24, parallel: 1, signal: ac.signal },
      ),
      /time limit/,
    );
    assert.equal(s.reads.length, 2);
    await assert.rejects(
      streamTensorRows(
        source(file).src,
        layout,
        async () => {
          throw new Error('backend down');
        },
        { chunkBytes: 24, parallel: 2 },
      ),
      /backend down/,
    );
  });
});
