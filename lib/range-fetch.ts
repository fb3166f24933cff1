/**
 * A `fetch` for @huggingface/hub (HubOptions.fetch) tuned for what the runner does most: GETs of byte ranges, over
 * `http:` (the local mirror) and `https:` (the Hub, whose `resolve` answers 302 with a CDN URL). They go through one
 * undici Agent (keep-alive pools per origin, one request per connection at a time, a bounded number of connections,
 * header and body timeouts), redirects followed here so the Range header goes along and the token stays with the
 * Hub. Each body lands in one (pooled) buffer that `arrayBuffer()` hands over without a copy, or in memory the caller
 * brought (`into`: HubSource.readRangeInto, for the runner a chunk of shared kernel memory the compute workers read
 * in place); on `http:` the socket reads large bodies straight there (body-read-connector.ts). Node 20's fetch spent
 * about 3 CPU seconds per GB of a 1 GB tensor here, mostly in web streams; this path has none. Everything else (other
 * methods, requests without Range or with a body, manual redirects) goes to the fallback fetch.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import type { BufferPool } from './buffer-pool.ts';
import { chunkBufferPool } from './buffer-pool.ts';
import { BodySink, DirectReads, bodyReadConnector } from './body-read-connector.ts';
import type { DirectRead } from './body-read-connector.ts';
import { BufferedResponse, deliveredToken } from './buffered-response.ts';

const MAX_REDIRECTS = 10;
/** Errors of a connection that failed before any response: a keep-alive socket the server had just closed. */
const STALE_CONNECTION = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * A request that may bring the memory its body is to land in: `into`, of exactly the length the Range asks for.
 * When a 206 answer fills it, the response's body is empty and its `arrayBuffer()` answers a zero-length token
 * ({@link delivered}), so the caller can tell its memory holds the bytes (a response that did not use it, a
 * redirect to a server that ignored the Range, say, carries its body as usual).
 */
export interface RangeRequestInit extends RequestInit {
  into?: Uint8Array;
}

export interface RangeFetch {
  (input: string | URL | Request, init?: RangeRequestInit): Promise<Response>;
  /** Closes the keep-alive connections once the requests in flight have ended. */
  close(): Promise<void>;
  /** Body bytes the sockets read straight into callers' memory (RangeRequestInit.into), since creation. */
  readonly directBytes: number;
}

export interface RangeFetchOptions {
  /** Serves what the ranged path does not (default: the global fetch). */
  fallback?: typeof fetch;
  /** Where response bodies are allocated (default: the shared chunk pool, which tensor-stats.ts refills). */
  pool?: BufferPool;
  /** Connections per origin at most (default 16). */
  connections?: number;
  /** Milliseconds to wait for a response's headers (default 60 s). */
  headersTimeout?: number;
  /** Milliseconds to wait for each next piece of a response's body (default 60 s). */
  bodyTimeout?: number;
  /** TLS options for `https:` origins (e.g. the CA of a test server). */
  tls?: ConnectionOptions;
}

interface Exchange {
  status: number;
  statusText: string;
  headers: Headers;
  body: Buffer;
  /** The body is in the caller's `into`. */
  intoFilled: boolean;
  /** Of those, bytes the socket read there itself. */
  directBytes: number;
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else if (v !== undefined) out.append(k, v);
  }
  return out;
}

/**
 * Throws unless a 206 answer to `bytes=a-b` says, in Content-Range, that its `length` bytes start at `a` and end
 * at or before `b`: a server or CDN that answers another range would otherwise hand the caller the wrong bytes.
 */
export function checkContentRange(range: string, contentRange: string | null, length: number): void {
  const want = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
  if (!want) return; // suffix and multi-part ranges: nothing simple to compare
  const got = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange?.trim() ?? '');
  const [a, b] = got ? [Number(got[1]), Number(got[2])] : [NaN, NaN];
  if (!(a === Number(want[1]) && b - a + 1 === length && (want[2] === '' || b <= Number(want[2])))) {
    throw new Error(
      `asked for ${range} but the 206 answer is Content-Range ${JSON.stringify(contentRange)} with ${length} bytes`,
    );
  }
}

/** The dispatch handler of one GET: settles its promise once, with the whole response or the first failure. */
class RangeGet implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private head: Omit<Exchange, 'body' | 'intoFilled' | 'directBytes'> | null = null;
  private sink: BodySink | null = null;
  private intoUsed = false;
  private done = false;
  private readonly onAbort = (): void => this.fail(this.reason());

  constructor(
    private readonly range: string,
    private readonly pool: BufferPool,
    private readonly signal: AbortSignal | null | undefined,
    /** The caller's memory for the body, and how the sockets were told about it (undefined: none). */
    private readonly into: Uint8Array | undefined,
    private readonly direct: { read: DirectRead; withdraw: () => void } | null,
    private readonly resolve: (r: Exchange) => void,
    private readonly reject: (e: Error) => void,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private reason(): Error {
    return this.signal?.reason instanceof Error ? this.signal.reason : new Error('aborted');
  }

  private settle(): void {
    this.done = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.direct?.withdraw();
  }

  private fail(e: Error): void {
    if (this.done) return;
    // First of all: no socket may write into the caller's memory once the caller is told the read failed.
    this.direct?.read.revoke();
    this.settle();
    this.controller?.abort(e);
    this.sink?.discard();
    const s = this.sink;
    const cut = s?.length != null ? `connection closed after ${s.filled} of ${s.length} body bytes` : null;
    this.reject(cut && e !== this.signal?.reason ? new Error(`${cut} (${e.message})`, { cause: e }) : e);
  }

  private guard(f: () => void): void {
    if (this.done) return;
    try {
      f();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.done) c.abort(this.reason());
  }

  onResponseStart(_c: unknown, status: number, raw: IncomingHttpHeaders, statusText?: string): void {
    this.guard(() => {
      const head = { status, statusText: statusText ?? '', headers: toHeaders(raw) };
      this.head = head;
      const length = raw['content-length'] === undefined ? NaN : Number(raw['content-length']);
      if (status === 206 && Number.isSafeInteger(length))
        checkContentRange(this.range, head.headers.get('content-range'), length);
      this.intoUsed = this.into !== undefined && status === 206 && length === this.into.byteLength;
      this.sink = new BodySink(
        this.pool,
        Number.isSafeInteger(length) ? length : null,
        this.intoUsed ? this.into : undefined,
      );
    });
  }

  onResponseData(_c: unknown, chunk: Buffer): void {
    this.guard(() => this.sink!.add(chunk));
  }

  onResponseEnd(): void {
    this.guard(() => {
      const response = {
        ...this.head!,
        body: this.sink!.finish(),
        intoFilled: this.intoUsed,
        directBytes: this.intoUsed ? (this.direct?.read.direct ?? 0) : 0,
      };
      if (response.status === 206)
        checkContentRange(this.range, response.headers.get('content-range'), response.body.length);
      this.settle();
      // undici frees a connection one event-loop turn after its response ends (client-h1.js, "wait a full event
      // loop cycle to reuse this socket"); answering after that turn lets the caller's next range reuse it.
      setImmediate(() => setImmediate(() => this.resolve(response)));
    });
  }

  onResponseError(_c: unknown, e: Error): void {
    this.fail(e);
  }
}

/**
 * One GET on the agent; the body lands in `into` when it is given and the answer is a 206 of its length (announced
 * in `directs`, so the socket reads it there), else in one buffer when its length is announced (see BodySink).
 */
function exchange(
  agent: Dispatcher,
  u: URL,
  headers: Record<string, string>,
  pool: BufferPool,
  signal: AbortSignal | null | undefined,
  into: Uint8Array | undefined,
  directs: DirectReads,
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const path = `${u.pathname}${u.search}`;
    const key = into ? DirectReads.key(u.host, path, headers.range) : '';
    const read = into ? directs.add(key, into) : null;
    const direct = read ? { read, withdraw: () => directs.drop(key, read) } : null;
    const handler = new RangeGet(headers.range, pool, signal, into, direct, resolve, reject);
    agent.dispatch({ origin: u.origin, path, method: 'GET', headers }, handler);
  });
}

/** Creates the fetch. Its keep-alive sockets do not keep the process alive when idle; close() ends them. */
export function createRangeFetch(opts: RangeFetchOptions = {}): RangeFetch {
  const fallback = opts.fallback ?? globalThis.fetch;
  const pool = opts.pool ?? chunkBufferPool;
  const directs = new DirectReads();
  let directBytes = 0;
  const agent = new Agent({
    connections: opts.connections ?? 16,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    // undici stops reusing a socket this long before the server's advertised keep-alive ends (default 2 s); the
    // mirror advertises 1 s. A socket closed under a request anyway is retried once below.
    keepAliveTimeoutThreshold: 500,
    headersTimeout: opts.headersTimeout ?? 60_000,
    bodyTimeout: opts.bodyTimeout ?? 60_000,
    connect: bodyReadConnector(pool, opts.tls ?? {}, directs),
  });
  const send = async (
    u: URL,
    headers: Record<string, string>,
    signal: AbortSignal | null | undefined,
    into: Uint8Array | undefined,
  ): Promise<Exchange> => {
    try {
      return await exchange(agent, u, headers, pool, signal, into, directs);
    } catch (e) {
      if (!STALE_CONNECTION.has((e as { code?: string }).code ?? '') || signal?.aborted) throw e;
      return exchange(agent, u, headers, pool, signal, into, directs);
    }
  };
  const get = async (
    u: URL,
    headers: Record<string, string>,
    signal: AbortSignal | null | undefined,
    hops: number,
    into: Uint8Array | undefined,
  ): Promise<Response> => {
    const r = await send(u, headers, signal, into);
    const location = r.headers.get('location');
    if (r.status >= 300 && r.status < 400 && location && hops < MAX_REDIRECTS) {
      // The Hub's resolve answers 302 to a CDN: the Range goes along, the Hub token does not.
      const next = new URL(location, u);
      const carried =
        next.origin === u.origin
          ? headers
          : Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'authorization'));
      if (next.protocol === 'http:' || next.protocol === 'https:') return get(next, carried, signal, hops + 1, into);
      return fallback(next, { headers: carried, signal: signal ?? null });
    }
    const head = { status: r.status, statusText: r.statusText, headers: r.headers };
    if (!r.intoFilled) return new BufferedResponse(r.body, head, u.href);
    directBytes += r.directBytes;
    return new BufferedResponse(Buffer.from(deliveredToken()), head, u.href);
  };
  const rangeFetch = (async (input: string | URL | Request, init?: RangeRequestInit): Promise<Response> => {
    const u = new URL(input instanceof Request ? input.url : input);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const ranged = method === 'GET' && headers.has('range') && !init?.body && (init?.redirect ?? 'follow') === 'follow';
    if (!ranged || (u.protocol !== 'http:' && u.protocol !== 'https:')) return fallback(input, init);
    const flat: Record<string, string> = {};
    headers.forEach((v, k) => (flat[k] = v));
    return get(u, flat, init?.signal, 0, init?.into);
  }) as RangeFetch;
  rangeFetch.close = () => agent.close();
  Object.defineProperty(rangeFetch, 'directBytes', { get: () => directBytes });
  return rangeFetch;
}
