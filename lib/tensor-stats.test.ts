import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RowStats } from '../checks/types.ts';
import { bf16Matrix, writeSafetensors } from '../infra/fixtures/safetensors-writer.ts';
import { kernelMemoryOf } from './buffer-pool.ts';
import type { ByteSource } from './byte-source.ts';
import type { ComputeBackend } from './compute/backend.ts';
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

/** The folder's source without readRangeInto (like an HTTP source): its reads optionally copied into a SharedArrayBuffer. */
function readsOnly(source: ByteSource, shared: boolean): ByteSource {
  return {
    label: source.label,
    listFiles: () => source.listFiles(),
    readText: (p) => source.readText(p),
    stream: (p, s, e) => source.stream(p, s, e),
    async readRange(path: string, start: number, end: number) {
      const bytes = await source.readRange(path, start, end);
      if (!shared) return bytes;
      const copy = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
      copy.set(bytes);
      return copy;
    },
  };
}

type Kind = 'kernel memory' | 'shared' | 'plain';

/** The backend, noting what kind of buffer each chunk arrived in. */
function watched(backend: CpuBackend, kinds: Set<Kind>): ComputeBackend {
  return {
    name: backend.name,
    device: backend.device,
    sharedChunks: backend.sharedChunks,
    rowStats(job) {
      const b = job.data.buffer;
      kinds.add(kernelMemoryOf(b) ? 'kernel memory' : b instanceof SharedArrayBuffer ? 'shared' : 'plain');
      return backend.rowStats(job);
    },
    openDelta: (spec) => backend.openDelta(spec),
    close: () => backend.close(),
  };
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
      const chunks = Math.ceil(ROWS / 48);
      const cases: [string, ByteSource, CpuBackend, Kind, number][] = [
        // Chunks read into kernel memory: whole chunks (default slice size), then split in 3 slices each.
        ['local, 1 worker', source, new CpuBackend(1), 'kernel memory', chunks],
        ['local, 3 workers', source, new CpuBackend(3), 'kernel memory', chunks],
        ['local, 3 workers, split', source, new CpuBackend(3, { minSliceBytes: 1024 }), 'kernel memory', 3 * chunks],
        // A source that allocates: plain buffers transferred, shared ones split and copied by the workers.
        ['plain, 3 workers', readsOnly(source, false), new CpuBackend(3), 'plain', chunks],
        [
          'shared, 3 workers',
          readsOnly(source, true),
          new CpuBackend(3, { minSliceBytes: 1024 }),
          'shared',
          3 * chunks,
        ],
      ];
      const inline = await run(source, { threads: 0 });
      for (const [name, src, backend, kind, parts] of cases) {
        const kinds = new Set<Kind>();
        const got = await run(src, { backend: watched(backend, kinds) });
        assert.deepEqual([...kinds], [kind], name);
        assert.equal(backend.partsSent, parts, `${name}: messages to the workers`);
        assert.deepEqual(bits(got), bits(inline), name);
      }
      const one = inline;
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
