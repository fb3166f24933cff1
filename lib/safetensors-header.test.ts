import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bf16Matrix, encodeSafetensors } from '../infra/fixtures/safetensors-writer.ts';
import type { ByteSource } from './byte-source.ts';
import { SourceError } from './byte-source.ts';
import { readSafetensorsHeader, readSafetensorsInventory } from './safetensors-header.ts';

/** A byte source over in-memory files. */
function memSource(files: Record<string, Uint8Array>, failOn?: string): ByteSource {
  return {
    label: 'mem',
    listFiles: async () => Object.entries(files).map(([path, b]) => ({ path, size: b.byteLength })),
    readRange: async (path, start, end) => {
      if (path === failOn) throw new SourceError(`connection reset reading ${path}`, path);
      return files[path].subarray(start, end);
    },
    readText: async (path) => Buffer.from(files[path]).toString('utf8'),
    async *stream(path, start, end) {
      yield files[path].subarray(start, end);
    },
  };
}

/** A file with the given header object (padded) followed by `dataBytes` bytes. */
function withHeader(header: unknown, dataBytes: number, lengthOverride?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(lengthOverride ?? BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}

async function errorOf(bytes: Uint8Array): Promise<string | undefined> {
  const r = await readSafetensorsHeader(memSource({ 'm.safetensors': bytes }), {
    path: 'm.safetensors',
    size: bytes.byteLength,
  });
  if (r.info.error) assert.equal(r.tensors.length, 0);
  return r.info.error;
}

const t = (dtype: string, shape: number[], off: [number, number]) => ({ dtype, shape, data_offsets: off });

describe('safetensors header validation', () => {
  it('accepts a well-formed file and returns its tensors', async () => {
    const bytes = encodeSafetensors({ a: bf16Matrix(4, 8, 1), b: bf16Matrix(2, 8, 2) });
    const r = await readSafetensorsHeader(memSource({ 'm.safetensors': bytes }), {
      path: 'm.safetensors',
      size: bytes.length,
    });
    assert.equal(r.info.error, undefined);
    assert.deepEqual(
      r.tensors.map((x) => [x.name, x.dataOffsets]),
      [
        ['a', [0, 64]],
        ['b', [64, 96]],
      ],
    );
    assert.deepEqual(r.info.metadata, { format: 'pt' });
  });

  const lies: [string, Buffer, RegExp][] = [
    ['offsets outside the file', withHeader({ a: t('F32', [4], [0, 16]) }, 8), /run past the end of the data section/],
    ['overlapping tensors', withHeader({ a: t('F32', [4], [0, 16]), b: t('F32', [4], [8, 24]) }, 24), /overlap/],
    [
      'wrong byte length',
      withHeader({ a: t('BF16', [4, 4], [0, 16]) }, 16),
      /16 bytes in data_offsets but shape \[4,4\] × BF16 needs 32/,
    ],
    ['unknown dtype', withHeader({ a: t('BF17', [4], [0, 8]) }, 8), /unknown dtype "BF17"/],
    ['huge header length', withHeader({}, 0, 1n << 40n), /exceeds the 16777216-byte cap/],
    ['header length past the file', withHeader({}, 0, 4096n), /exceeds the file size/],
    [
      'a gap nobody owns',
      withHeader({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [16, 24]) }, 24),
      /8 bytes of the data section before b/,
    ],
    [
      'trailing bytes after the last tensor',
      withHeader({ a: t('F32', [2], [0, 8]) }, 12),
      /data section is 12 bytes but the tensors cover 8/,
    ],
    ['negative shape', withHeader({ a: t('F32', [-2], [0, 8]) }, 8), /invalid shape/],
    ['reversed offsets', withHeader({ a: t('F32', [0], [8, 0]) }, 8), /invalid data_offsets/],
    ['shape overflow', withHeader({ a: t('F32', [2 ** 40, 2 ** 40], [0, 8]) }, 8), /overflows/],
    ['non-string metadata', withHeader({ __metadata__: { n: 1 } }, 0), /__metadata__.n is not a string/],
    ['not JSON', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a:')]), /not valid JSON/],
    [
      'a JSON array',
      Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('[]')]),
      /does not start with '\{'/,
    ],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7b, 0xff, 0x7d])]),
      /not valid UTF-8/,
    ],
    ['shorter than 8 bytes', Buffer.from([1, 2, 3]), /shorter than the 8-byte header length/],
  ];
  for (const [what, bytes, message] of lies) {
    it(`records what is wrong with ${what}`, async () => {
      assert.match((await errorOf(bytes)) ?? '(no error)', message);
    });
  }

  it('tells a failed read (io) from a lying header (malformed)', async () => {
    const bytes = encodeSafetensors({ a: bf16Matrix(2, 8, 1) });
    const io = await readSafetensorsHeader(memSource({ 'm.safetensors': bytes }, 'm.safetensors'), {
      path: 'm.safetensors',
      size: bytes.length,
    });
    assert.equal(io.info.errorKind, 'io');
    const lying = withHeader({ a: t('X', [1], [0, 1]) }, 1);
    const bad = await readSafetensorsHeader(memSource({ 'm.safetensors': lying }), {
      path: 'm.safetensors',
      size: lying.length,
    });
    assert.equal(bad.info.errorKind, 'malformed');
  });

  it('reads a sharded index and reports a shard it names but the repo lacks', async () => {
    const s1 = encodeSafetensors({ e: bf16Matrix(4, 8, 1) });
    const s2 = encodeSafetensors({ h: bf16Matrix(4, 8, 2) });
    const files = { 'model-1.safetensors': s1, 'model-2.safetensors': s2 };
    const index = JSON.stringify({
      weight_map: { e: 'model-1.safetensors', h: 'model-2.safetensors', x: 'model-3.safetensors' },
    });
    const src = memSource(files);
    const inv = await readSafetensorsInventory(src, await src.listFiles(), index);
    assert.deepEqual(
      Object.values(inv!.tensors).map((x) => [x.name, x.file]),
      [
        ['e', 'model-1.safetensors'],
        ['h', 'model-2.safetensors'],
      ],
    );
    assert.deepEqual(inv!.errors, ['index names shard model-3.safetensors, which is not in the repo']);
  });
});

describe('properties (fast-check)', () => {
  const DTYPES = ['F32', 'BF16', 'F16', 'I8', 'F64'] as const;
  const SIZE: Record<string, number> = { F32: 4, BF16: 2, F16: 2, I8: 1, F64: 8 };
  const tensorSpecs = fc.uniqueArray(
    fc.record({
      name: fc.string({ minLength: 1, maxLength: 12 }).filter((n) => n !== '__metadata__'),
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
    }),
    { selector: (x) => x.name, maxLength: 8 },
  );

  it('a header written back to back is read back exactly', async () => {
    await fc.assert(
      fc.asyncProperty(tensorSpecs, async (specs) => {
        let at = 0;
        // No prototype: a tensor may be named `__proto__`, which on a plain object would set the prototype instead.
        const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        for (const s of specs) {
          const n = s.shape.reduce((a, b) => a * b, 1) * SIZE[s.dtype];
          header[s.name] = t(s.dtype, s.shape, [at, at + n]);
          at += n;
        }
        const bytes = withHeader(header, at);
        const r = await readSafetensorsHeader(memSource({ 'm.safetensors': bytes }), {
          path: 'm.safetensors',
          size: bytes.length,
        });
        assert.equal(r.info.error, undefined);
        assert.deepEqual(
          r.tensors.map((x) => [x.name, x.dtype, x.shape]).sort(),
          specs.map((s) => [s.name, s.dtype, s.shape]).sort(),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('any header bytes: an error is recorded or the tensors lie inside the data section, never a throw', async () => {
    const anyHeader = fc.oneof(
      fc.json().map((j) => Buffer.from(j)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue()).map((o) => Buffer.from(JSON.stringify(o))),
    );
    await fc.assert(
      fc.asyncProperty(anyHeader, fc.integer({ min: 0, max: 64 }), async (json, dataBytes) => {
        const bytes = Buffer.alloc(8 + json.length + dataBytes);
        bytes.writeBigUInt64LE(BigInt(json.length), 0);
        json.copy(bytes, 8);
        const r = await readSafetensorsHeader(memSource({ 'm.safetensors': bytes }), {
          path: 'm.safetensors',
          size: bytes.length,
        });
        if (r.info.error) assert.equal(r.info.errorKind, 'malformed');
        for (const x of r.tensors) assert.ok(x.dataOffsets[1] <= dataBytes);
      }),
      { numRuns: 500 },
    );
  });

  it('an index never makes the reader touch a path outside the repo listing', async () => {
    const shardName = fc.oneof(
      fc.constantFrom('model-00001.safetensors', '../../x.safetensors', 'https://evil/x.safetensors', '/etc/passwd'),
      fc.string({ maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string({ maxLength: 8 }), shardName), async (weightMap) => {
        const shard = encodeSafetensors({ a: bf16Matrix(2, 2, 1) });
        const files = { 'model-00001.safetensors': shard };
        const src = memSource(files);
        const read: string[] = [];
        const spy: ByteSource = { ...src, readRange: (p, s, e) => (read.push(p), src.readRange(p, s, e)) };
        const inv = await readSafetensorsInventory(
          spy,
          [{ path: 'model-00001.safetensors', size: shard.length }],
          JSON.stringify({ weight_map: weightMap }),
        );
        for (const p of read) assert.equal(p, 'model-00001.safetensors');
        const bad = Object.values(weightMap).filter((v) => /(^|\/)\.\.(\/|$)|^\/|:|\\/.test(v) || v === '');
        for (const b of bad)
          assert.ok(
            inv!.errors.some((e) => e.includes('not a path inside the repo')),
            b,
          );
      }),
      { numRuns: 300 },
    );
  });
});
