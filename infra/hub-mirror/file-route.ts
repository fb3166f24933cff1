/**
 * `GET|HEAD /{repo}/resolve|raw/{rev}/{path}`: serves one file of a revision, whole or one byte range, streamed
 * from disk (a benchmark serves a 1 GB shard through here, so nothing is buffered).
 */
import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { BodyFault } from './faults.ts';
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
  const changed = ctx.fault?.kind === 'etag-change';
  const etag = `"${file.lfs ? file.sha256 : file.gitOid}${changed ? '-changed' : ''}"`;
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
    sendJson(
      ctx,
      416,
      { error: 'Requested range not satisfiable' },
      { 'Content-Range': `bytes */${file.size}`, 'Accept-Ranges': 'bytes', 'X-Repo-Commit': sha },
    );
    return;
  }
  const { start, end } = range ? faultyRange(range, file.size, ctx.fault) : { start: 0, end: file.size - 1 };
  const length = Math.max(0, end - start + 1);
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
  ctx.res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': String(length) });
  if (ctx.req.method === 'HEAD' || length === 0) {
    ctx.res.end();
    return;
  }
  try {
    if (ctx.fault) await sendFaulty(ctx, ctx.fault, absPath, start, length);
    else await sendBytes(ctx, absPath, start, length);
  } catch {
    // The client went away mid-body (aborted fetch, cancelled stream), or the file vanished: nothing to answer any more.
    ctx.res.destroy();
  }
}

/**
 * Body reads go into a few reused 2 MiB buffers: createReadStream allocated a fresh buffer per read, whose pages
 * fault in and are unmapped again, and with its 64 KiB default a 1 GB ranged scan topped out at ~0.6 GB/s.
 */
const SERVE_BUFFER = 2 << 20;
const MAX_FREE_BUFFERS = 16;
const freeBuffers: Buffer[] = [];

/** Writes a chunk; resolves once the socket has taken it (the buffer may then be reused). */
function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const gone = (): void => reject(new Error('the client went away'));
    res.once('close', gone);
    res.write(chunk, (err) => {
      res.off('close', gone);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** Sends bytes [start, start + length) of the file: reads the next piece while the socket drains the previous one. */
async function sendBytes(ctx: ReqCtx, absPath: string, start: number, length: number): Promise<void> {
  const fh = await open(absPath, 'r');
  const buffers = [
    freeBuffers.pop() ?? Buffer.allocUnsafeSlow(SERVE_BUFFER),
    freeBuffers.pop() ?? Buffer.allocUnsafeSlow(SERVE_BUFFER),
  ];
  const writes: (Promise<void> | null)[] = [null, null];
  try {
    for (let done = 0, i = 0; done < length; i ^= 1) {
      await writes[i];
      const { bytesRead } = await fh.read(buffers[i], 0, Math.min(SERVE_BUFFER, length - done), start + done);
      if (bytesRead === 0) throw new Error(`${absPath} ended before byte ${start + length}`);
      done += bytesRead;
      ctx.bytes += bytesRead;
      writes[i] = writeChunk(ctx.res, buffers[i].subarray(0, bytesRead));
      writes[i]!.catch(() => {});
    }
    await Promise.all(writes);
    ctx.res.end();
    freeBuffers.push(...buffers.slice(0, Math.max(0, MAX_FREE_BUFFERS - freeBuffers.length)));
  } finally {
    await fh.close();
  }
}

/** The range actually served under a range fault: half of the one asked for, or one `shift` bytes away. */
function faultyRange(r: { start: number; end: number }, size: number, f: BodyFault | undefined) {
  if (f?.kind === 'short-range' && r.end > r.start)
    return { start: r.start, end: r.start + Math.floor((r.end - r.start + 1) / 2) - 1 };
  if (f?.kind === 'wrong-range') {
    const shift = f.shift ?? Math.max(1, r.end - r.start + 1);
    const start = r.start >= shift ? r.start - shift : Math.min(r.start + shift, size - 1);
    return { start, end: Math.min(size - 1, start + (r.end - r.start)) };
  }
  return r;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends a body under a fault (test files are small, so it is read whole): other content for a changed file,
 * a trickle, or a connection closed part-way with the full Content-Length announced.
 */
async function sendFaulty(ctx: ReqCtx, f: BodyFault, absPath: string, start: number, length: number): Promise<void> {
  const fh = await open(absPath, 'r');
  const body = Buffer.alloc(length);
  try {
    await fh.read(body, 0, length, start);
  } finally {
    await fh.close();
  }
  if (f.kind === 'etag-change') for (let i = 0; i < body.length; i++) body[i] ^= 0x5a;
  const cutAt = f.kind === 'cut' ? Math.min(length - 1, f.afterBytes ?? Math.floor(length / 2)) : length;
  const step = f.kind === 'trickle' ? Math.max(1, f.bytes) : length;
  for (let at = 0; at < cutAt; at += step) {
    if (f.kind === 'trickle' && at > 0) await pause(f.intervalMs);
    if (ctx.res.destroyed) throw new Error('the client went away');
    const piece = body.subarray(at, Math.min(cutAt, at + step));
    ctx.bytes += piece.length;
    await writeChunk(ctx.res, piece);
  }
  if (cutAt < length) {
    ctx.res.socket?.destroy();
    return;
  }
  ctx.res.end();
}
