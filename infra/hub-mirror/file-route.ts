/**
 * `GET|HEAD /{repo}/resolve|raw/{rev}/{path}`: serves one file of a revision, whole or one byte range, streamed
 * from disk (a benchmark serves a 1 GB shard through here, so nothing is buffered).
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { FileEntry } from './store.ts';
import type { ReqCtx } from './http-util.ts';
import { sendJson } from './http-util.ts';

/** A parsed `Range` header: a byte span, `invalid` (unsatisfiable → 416) or null (absent or ignored → 200). */
export type RangeSpec = { start: number; end: number } | 'invalid' | null;

/**
 * Parses a single-range `Range: bytes=a-b | a- | -n` against a file size. Multiple ranges and other units are
 * ignored (the whole file is sent), as RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): RangeSpec {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'invalid';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

function contentType(path: string): string {
  if (path.endsWith('.json')) return 'application/json';
  if (/\.(md|txt|py|jinja|yaml|yml)$/.test(path)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/** Streams `absPath` (described by `file`) of commit `sha` to the client, honouring a single Range. */
export async function serveFile(ctx: ReqCtx, absPath: string, file: FileEntry, sha: string): Promise<void> {
  const etag = `"${file.lfs ? file.sha256 : file.gitOid}"`;
  const headers: Record<string, string> = {
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'X-Repo-Commit': sha,
    'Content-Type': contentType(file.path),
    ...(file.lfs ? { 'X-Linked-Etag': etag, 'X-Linked-Size': String(file.size) } : {}),
  };
  const range = parseRange(ctx.req.headers.range, file.size);
  if (range === 'invalid' && file.size === 0) {
    // An empty file has no satisfiable range; answering 200 with its total keeps @huggingface/hub's bytes=0-0
    // size probe working instead of failing on an empty config file.
    ctx.res.writeHead(200, { ...headers, 'Content-Length': '0', 'Content-Range': 'bytes */0' });
    ctx.res.end();
    return;
  }
  if (range === 'invalid') {
    sendJson(ctx, 416, { error: 'Requested range not satisfiable' }, { 'Content-Range': `bytes */${file.size}`, 'Accept-Ranges': 'bytes', 'X-Repo-Commit': sha });
    return;
  }
  const { start, end } = range ?? { start: 0, end: file.size - 1 };
  const length = Math.max(0, end - start + 1);
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
  ctx.res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': String(length) });
  if (ctx.req.method === 'HEAD' || length === 0) {
    ctx.res.end();
    return;
  }
  // 1 MiB reads: the default 64 KiB caps a local 1 GB ranged scan at ~0.6 GB/s (bench/untrained-bench.ts).
  const stream = createReadStream(absPath, { start, end, highWaterMark: 1 << 20 });
  stream.on('data', (chunk) => {
    ctx.bytes += chunk.length;
  });
  try {
    await pipeline(stream, ctx.res);
  } catch {
    // The client went away mid-body (aborted fetch, cancelled stream): nothing to answer any more.
    stream.destroy();
  }
}
