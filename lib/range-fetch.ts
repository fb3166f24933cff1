/**
 * A `fetch` for @huggingface/hub (HubOptions.fetch) that is fast for what the runner does most: plain-HTTP GETs
 * of byte ranges. Those go over keep-alive sockets whose body bytes land, via `onread`, directly in one (pooled)
 * buffer per response that `arrayBuffer()` hands over without a copy. Reading a 1 GB tensor from the local
 * mirror, Node 20's fetch (undici) and http client spent about 3 CPU seconds per GB here; this path about 0.4.
 * Everything else (HTTPS, requests without Range, bodies without Content-Length) goes to the global fetch.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { BufferPool } from './buffer-pool.ts';
import { chunkBufferPool } from './buffer-pool.ts';

/**
 * Socket reads go straight into the response body once its head is parsed (the buffer handed to `onread` is the
 * body's unfilled tail), so body bytes are copied once, by the kernel. Heads are read into one shared 64 KiB buffer:
 * reads and their callbacks run one at a time on the event loop, and each callback copies its bytes out first.
 */
const HEAD_BUFFER = 64 << 10;
let sharedHeadBuffer: Buffer | null = null;
const MAX_REDIRECTS = 10;

/** A response whose body is already in memory; arrayBuffer() returns it as is (it owns its ArrayBuffer). */
class BufferedResponse extends Response {
  constructor(
    private readonly data: Buffer,
    init: ResponseInit,
    private readonly at: string,
  ) {
    super(null, init);
  }
  override get url(): string {
    return this.at;
  }
  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const view = new Uint8Array(this.own());
    return new ReadableStream({
      start(c) {
        c.enqueue(view);
        c.close();
      },
    });
  }
  private own(): ArrayBuffer {
    const b = this.data;
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
      ? (b.buffer as ArrayBuffer)
      : (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  }
  override async arrayBuffer(): Promise<ArrayBuffer> {
    return this.own();
  }
  override async text(): Promise<string> {
    return this.data.toString('utf8');
  }
  override async json(): Promise<unknown> {
    return JSON.parse(this.data.toString('utf8'));
  }
  override async blob(): Promise<Blob> {
    return new Blob([this.own()]);
  }
}

interface Head {
  status: number;
  statusText: string;
  headers: Headers;
}

/** Parses `HTTP/1.1 206 Partial Content\r\nName: value\r\n...`. */
function parseHead(text: string): Head {
  const [statusLine, ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
  if (!m) throw new Error(`malformed HTTP status line ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers = new Headers();
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
  }
  return { status: Number(m[1]), statusText: m[2], headers };
}

/** One request/response exchange on a socket; the socket is reusable afterwards unless the server closes it. */
class Connection {
  private head: Buffer = Buffer.alloc(0);
  private body: Buffer | null = null;
  private filled = 0;
  private current: {
    head?: Head;
    resolve: (r: { head: Head; body: Buffer }) => void;
    reject: (e: Error) => void;
  } | null = null;
  readonly socket: Socket;
  alive = true;
  /** Exchanges completed on this socket (a failure on a reused socket before any reply is retried once). */
  uses = 0;

  constructor(
    host: string,
    port: number,
    private readonly pool: BufferPool,
    private readonly onIdle: (c: Connection) => void,
  ) {
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: () => this.readTarget(),
        callback: (n, buf) => this.onData(Buffer.from(buf.buffer, buf.byteOffset, n)),
      },
    });
    const fail = (e: Error): void => {
      this.alive = false;
      this.current?.reject(e);
      this.current = null;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () =>
      fail(
        new Error(
          this.body
            ? `connection closed after ${this.filled} of ${this.body.length} body bytes`
            : 'connection closed before a response',
        ),
      ),
    );
  }

  request(text: string): Promise<{ head: Head; body: Buffer }> {
    return new Promise((resolve, reject) => {
      this.current = { resolve, reject };
      this.head = Buffer.alloc(0);
      this.body = null;
      this.filled = 0;
      this.socket.write(text);
    });
  }

  /** Where the next socket read lands: the body's unfilled tail while a body is awaited, else the head buffer. */
  private readTarget(): Buffer {
    if (this.body && this.filled < this.body.length) return this.body.subarray(this.filled);
    return (sharedHeadBuffer ??= Buffer.allocUnsafe(HEAD_BUFFER));
  }

  private onData(chunk: Buffer): boolean {
    if (!this.current) return true;
    try {
      if (!this.current.head) {
        const prev = this.head.length;
        this.head = prev ? Buffer.concat([this.head, chunk]) : chunk;
        const end = this.head.indexOf('\r\n\r\n', Math.max(0, prev - 3));
        if (end < 0) {
          this.head = Buffer.from(this.head);
          return true;
        }
        const head = parseHead(this.head.toString('latin1', 0, end));
        const length = Number(head.headers.get('content-length'));
        if (!Number.isSafeInteger(length) || head.headers.get('transfer-encoding'))
          throw new Error('response without Content-Length');
        this.current.head = head;
        this.body = this.pool.take(length);
        chunk = this.head.subarray(end + 4);
      }
      const body = this.body!;
      const n = Math.min(chunk.length, body.length - this.filled);
      // Bytes read into the body's tail are already in place.
      if (chunk.buffer !== body.buffer || chunk.byteOffset !== body.byteOffset + this.filled)
        chunk.copy(body, this.filled, 0, n);
      this.filled += n;
      if (this.filled === this.body!.length) this.finish();
    } catch (e) {
      this.socket.destroy(e as Error);
    }
    return true;
  }

  private finish(): void {
    this.uses++;
    const { head, resolve } = this.current as { head: Head; resolve: (r: { head: Head; body: Buffer }) => void };
    const body = this.body!;
    this.current = null;
    this.body = null;
    if (head.headers.get('connection')?.toLowerCase() === 'close') this.socket.end();
    else this.onIdle(this);
    resolve({ head, body });
  }
}

export interface RangeFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Closes the idle keep-alive sockets. */
  close(): void;
}

export interface RangeFetchOptions {
  /** Serves what the fast path does not (default: the global fetch). */
  fallback?: typeof fetch;
  /** Where response bodies are allocated (default: the shared chunk pool, which tensor-stats.ts refills). */
  pool?: BufferPool;
}

/** Creates the fetch. Its keep-alive sockets do not keep the process alive when idle; close() ends them. */
export function createRangeFetch(opts: RangeFetchOptions = {}): RangeFetch {
  const fallback = opts.fallback ?? globalThis.fetch;
  const pool = opts.pool ?? chunkBufferPool;
  const idle = new Map<string, Connection[]>();
  const take = (u: URL): Connection => {
    const list = idle.get(u.host) ?? [];
    let c = list.pop();
    while (c && !c.alive) c = list.pop();
    return (
      c ??
      new Connection(u.hostname, Number(u.port || 80), pool, (conn) => {
        if (!idle.has(u.host)) idle.set(u.host, []);
        idle.get(u.host)!.push(conn);
        conn.socket.unref();
      })
    );
  };
  const exchange = async (
    u: URL,
    text: string,
    signal: AbortSignal | null | undefined,
  ): Promise<{ head: Head; body: Buffer }> => {
    const conn = take(u);
    conn.socket.ref();
    const abort = (): void =>
      void conn.socket.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', abort, { once: true });
    try {
      return await conn.request(text);
    } catch (e) {
      // The server may close an idle keep-alive socket just as we send on it: retry once on a new one.
      if (conn.uses > 0 && !signal?.aborted && /before a response/.test((e as Error).message))
        return exchange(u, text, signal);
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  };
  const get = async (
    u: URL,
    headers: Headers,
    signal: AbortSignal | null | undefined,
    hops: number,
  ): Promise<Response> => {
    const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Connection: keep-alive'];
    headers.forEach((v, k) => lines.push(`${k}: ${v}`));
    const { head, body } = await exchange(u, `${lines.join('\r\n')}\r\n\r\n`, signal);
    const location = head.headers.get('location');
    if (head.status >= 300 && head.status < 400 && location && hops < MAX_REDIRECTS) {
      const next = new URL(location, u);
      if (next.origin !== u.origin) headers.delete('authorization');
      return next.protocol === 'http:' ? get(next, headers, signal, hops + 1) : fallback(next, { headers, signal });
    }
    return new BufferedResponse(
      body,
      { status: head.status, statusText: head.statusText, headers: head.headers },
      u.href,
    );
  };
  const rangeFetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const u = new URL(input instanceof Request ? input.url : input);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (u.protocol !== 'http:' || method !== 'GET' || !headers.has('range') || init?.body) return fallback(input, init);
    return get(u, headers, init?.signal, 0);
  }) as RangeFetch;
  rangeFetch.close = () => {
    for (const list of idle.values()) for (const c of list.splice(0)) c.socket.destroy();
  };
  return rangeFetch;
}
