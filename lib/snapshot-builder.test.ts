import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceError } from './byte-source.ts';
import type { ByteSource, SourceFile } from './byte-source.ts';
import { buildSnapshot } from './snapshot-builder.ts';

/** An in-memory release whose config.json read fails with `status` (or succeeds when null). */
function source(status: number | null): ByteSource {
  const files: Record<string, string> = {
    'config.json': '{"model_type":"llama"}',
    'generation_config.json': '{"eos_token_id":2}',
  };
  const bytes = (p: string): Uint8Array => new TextEncoder().encode(files[p]);
  const read = (p: string): Uint8Array => {
    if (p === 'config.json' && status !== null) throw new SourceError(`HTTP ${status}`, p, status);
    return bytes(p);
  };
  return {
    label: 'memory',
    listFiles: async (): Promise<SourceFile[]> =>
      Object.keys(files).map((path) => ({ path, size: bytes(path).length })),
    readRange: async (p, start, end) => read(p).slice(start, end),
    readText: async (p) => new TextDecoder().decode(read(p)),
    async *stream(p, start, end) {
      yield read(p).slice(start, end);
    },
  };
}

const ident = { repo: 'org/model', sha: 'a'.repeat(40) };

test('a 503 or 429 on a wanted file fails the snapshot so the job retries; it is never checked on partial data', async () => {
  for (const status of [503, 429]) {
    await assert.rejects(buildSnapshot(source(status), ident, { maxFileBytes: 1 << 20 }), (e: unknown) => {
      assert.ok(e instanceof SourceError);
      assert.equal(e.status, status);
      return true;
    });
  }
});

test('a file that cannot be had (404) is listed as omitted with the reason, the rest is kept', async () => {
  const snap = await buildSnapshot(source(404), ident, { maxFileBytes: 1 << 20 });
  assert.match(snap.omitted['config.json'], /could not be read: HTTP 404/);
  assert.equal(snap.texts['generation_config.json'], '{"eos_token_id":2}');
  const ok = await buildSnapshot(source(null), ident, { maxFileBytes: 1 << 20 });
  assert.equal(ok.texts['config.json'], '{"model_type":"llama"}');
});
