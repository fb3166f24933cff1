import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RowStats } from '../checks/types.ts';
import { bf16Matrix, writeSafetensors } from '../infra/fixtures/safetensors-writer.ts';
import type { ByteSource } from './byte-source.ts';
import { CpuBackend } from './compute/cpu-backend.ts';
import { LocalFolderSource } from './local-source.ts';
import { buildSnapshot } from './snapshot-builder.ts';
import type { TensorStatsOptions } from './tensor-stats.ts';
import { createTensorStatsProvider } from './tensor-stats.ts';

const ROWS = 1000;
const COLS = 96;
const NAME = 'model.embed_tokens.weight';

/** Every per-row statistic as bytes, so equality is bit-for-bit. */
function bits(s: RowStats) {
  const b = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
  return {
    max: b(s.max),
    absMax: b(s.absMax),
    norm: b(s.norm),
    mean: b(s.mean),
    hash: b(s.roundedHash),
    nonFinite: s.nonFinite,
  };
}

/** The folder's source, its reads copied into SharedArrayBuffers (a reader that fills shared memory). */
function sharedReads(source: ByteSource): ByteSource {
  return Object.assign(Object.create(source) as ByteSource, {
    async readRange(path: string, start: number, end: number) {
      const bytes = await source.readRange(path, start, end);
      const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
      shared.set(bytes);
      return shared;
    },
  });
}

describe('tensor statistics over worker threads', () => {
  it('gives bit-identical statistics on one thread, on several, and with shared chunks split over them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hubwatch-tensor-stats-'));
    try {
      const special = (r: number, c: number): number | undefined =>
        r === 0 || r === 511 ? 0 : r === 300 && c === 1 ? NaN : r === 999 && c === 95 ? Infinity : undefined;
      writeSafetensors(join(dir, 'model.safetensors'), {
        [NAME]: { dtype: 'BF16', shape: [ROWS, COLS], data: bf16Matrix(ROWS, COLS, 11, 0.02, special).data },
      });
      const source = new LocalFolderSource(dir);
      const snapshot = await buildSnapshot(source, { repo: 'local/t', sha: 'local' }, { maxFileBytes: 1 << 20 });
      const tensor = snapshot.safetensors!.tensors[NAME];
      // 48 rows (9 KiB) per read, 4 reads in flight: several chunks are at the workers at once.
      const run = async (src: ByteSource, opts: TensorStatsOptions) => {
        const provider = createTensorStatsProvider(src, snapshot, { chunkBytes: 48 * COLS * 2, ...opts });
        try {
          return await provider.rowStats(tensor);
        } finally {
          await provider.close();
        }
      };
      const one = await run(source, { threads: 1 });
      const three = new CpuBackend(3);
      const several = await run(source, { backend: three });
      const split = new CpuBackend(3, { minSliceBytes: 1024 });
      const shared = await run(sharedReads(source), { backend: split });
      const inline = await run(source, { threads: 0 });
      assert.equal(three.partsSent, Math.ceil(ROWS / 48), 'one message per chunk');
      assert.ok(split.partsSent > Math.ceil(ROWS / 48), `shared chunks were split (${split.partsSent} parts)`);
      assert.deepEqual(bits(several), bits(one));
      assert.deepEqual(bits(shared), bits(one));
      assert.deepEqual(bits(inline), bits(one));
      assert.deepEqual(
        one.nonFinite.map((n) => n.row),
        [300, 999],
      );
      assert.deepEqual([one.norm[0], one.norm[511]], [0, 0]);
      assert.ok(one.norm[1] > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
