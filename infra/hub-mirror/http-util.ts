/** Small HTTP helpers shared by the mirror's routes: a request context that counts body bytes, JSON and error replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyFault } from './faults.ts';

/** One request being served; `bytes` counts the body bytes sent (for the mirror's stats). */
export interface ReqCtx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** `http://host:port` as the client addressed us, for absolute `Link` URLs. */
  origin: string;
  bytes: number;
  /** A fault injected into this request's file body (faults.ts); only the file route applies it. */
  fault?: BodyFault;
}

/** Error codes the Hub puts in `X-Error-Code` and that @huggingface/hub reacts to. */
export type HubErrorCode = 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound';

/** Sends a JSON body (no body for HEAD). */
export function sendJson(ctx: ReqCtx, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(JSON.stringify(body));
  ctx.res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(buf.length),
    ...headers,
  });
  if (ctx.req.method === 'HEAD') {
    ctx.res.end();
    return;
  }
  ctx.bytes += buf.length;
  ctx.res.end(buf);
}

/** Sends a Hub-style error: JSON `{error}` and, when given, the `X-Error-Code` header. */
export function sendError(
  ctx: ReqCtx,
  status: number,
  code: HubErrorCode | null,
  message: string,
  headers: Record<string, string> = {},
): void {
  const codes: Record<string, string> = code ? { 'X-Error-Code': code, 'X-Error-Message': message } : {};
  sendJson(ctx, status, { error: message }, { ...codes, ...headers });
}

/** Reads a request body as JSON (up to 1 MiB); resolves to undefined when it is not valid JSON. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1024 * 1024) return undefined;
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * `Link` header pointing at the next page: the current URL with `cursor` set to the next offset,
 * or undefined when this page is the last.
 */
export function nextLink(ctx: ReqCtx, nextOffset: number, total: number): Record<string, string> {
  if (nextOffset >= total) return {};
  const next = new URL(ctx.url.pathname + ctx.url.search, ctx.origin);
  next.searchParams.set('cursor', Buffer.from(String(nextOffset)).toString('base64url'));
  return { Link: `<${next.href}>; rel="next"` };
}

/** The page offset encoded in `cursor` (0 when absent or malformed). */
export function cursorOffset(url: URL): number {
  const c = url.searchParams.get('cursor');
  if (!c) return 0;
  const n = Number(Buffer.from(c, 'base64url').toString('utf8'));
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
