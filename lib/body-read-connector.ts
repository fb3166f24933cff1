/**
 * An undici connector whose `http:` sockets read large response bodies straight into the buffer the body will be
 * handed over in. With undici's default socket every read allocated a fresh 64 KiB buffer and the response handler
 * copied every byte once more: 2.0 to 3.0 CPU seconds per GB of 4 MiB ranges from a local server, against 1.4 to 1.5
 * with this connector (a loaded 2-core machine; the raw-socket client this replaced took 0.55, the rest is undici's
 * parser, which copies every byte into its WebAssembly memory). Here a socket follows the responses it carries:
 * once a head announces a Content-Length, reads land in the unfilled tail of a buffer of that length taken from the
 * pool, and what the socket hands undici are views of that buffer; a handler that sees such a view adopts the buffer
 * ({@link adoptableBody}). A request whose caller brought its own destination (HubSource.readRangeInto: a chunk of
 * shared kernel memory) is announced in {@link DirectReads}; the socket that writes that request reads the body of
 * its 206 answer straight into the destination instead of a pooled buffer, so a tensor chunk reaches the compute
 * workers without any copy. Heads, small bodies and chunked responses go through a scratch buffer and are copied
 * out, so undici always parses exactly the bytes that arrived, in order, wherever they landed. `https:` origins
 * use undici's own connector.
 */
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { BufferPool } from './buffer-pool.ts';

/** Bodies shorter than this are read through the scratch buffer. */
const MIN_DIRECT = 64 << 10;
const SCRATCH = 64 << 10;
/**
 * Reads that wait for a response head use a small scratch: whatever the kernel holds of the body behind the head
 * comes along in the same read, and all of it is copied out (twice: here and by the handler). With the 64 KiB scratch
 * that was up to 64 KiB per response: 1 MiB ranges spent about 0.3 CPU s per GB in those copies and their garbage.
 * Heads of real Hub and CDN answers are under 2 KiB; a longer one just takes a few reads.
 */
const HEAD_SCRATCH = 4 << 10;
const MAX_HEAD = 64 << 10;
/** Direct reads into a caller's memory start at multiples of this (see BodyReader.target). */
const ALIGN = 8;

/**
 * A destination a caller brought for the body of one ranged GET. `revoke` makes the socket stop writing into it at
 * once (the request failed or was given up: the caller may reuse the memory); `direct` counts bytes the socket read
 * straight into it.
 */
export class DirectRead {
  revoked = false;
  direct = 0;
  constructor(readonly into: Uint8Array) {}
  revoke(): void {
    this.revoked = true;
  }
}

/**
 * Destinations of requests in flight, by `host path range` of the request head. Only one per key: a second
 * identical request in flight gets none (its body is copied), so a socket never writes into another request's
 * memory. Matching is only an optimisation: the response handler copies whatever did not land in place.
 */
export class DirectReads {
  private readonly byKey = new Map<string, DirectRead>();

  static key(host: string, path: string, range: string): string {
    return `${host.toLowerCase()} ${path} ${range.trim()}`;
  }

  /** Announces a destination; null when another request with the same key is in flight. */
  add(key: string, into: Uint8Array): DirectRead | null {
    if (this.byKey.has(key)) return null;
    const d = new DirectRead(into);
    this.byKey.set(key, d);
    return d;
  }

  /** Withdraws a destination once its request has settled. */
  drop(key: string, d: DirectRead): void {
    if (this.byKey.get(key) === d) this.byKey.delete(key);
  }

  /** The destination of the request whose head a socket is writing, if one was announced. */
  forHead(head: string): DirectRead | undefined {
    if (this.byKey.size === 0) return undefined;
    const line = /^GET (\S+) HTTP\/1\.1\r\n/.exec(head);
    const host = /\r\nhost: *([^\r]*)\r\n/i.exec(head);
    const range = /\r\nrange: *([^\r]*)\r\n/i.exec(head);
    if (!line || !host || !range) return undefined;
    return this.byKey.get(DirectReads.key(host[1], line[1], range[1]));
  }
}

/** Tracks the responses on one socket and decides where its next read lands. */
class BodyReader {
  private head: Buffer = Buffer.alloc(0);
  private body: Buffer | null = null;
  /** The destination of the request last written on this socket, until its response head arrives. */
  private next: DirectRead | null = null;
  /** The destination the current body is read into, when it is a caller's. */
  private direct: DirectRead | null = null;
  private filled = 0;
  /** Bytes of the current (small) body still to come through the scratch buffer. */
  private skip = 0;
  /** Set on a response whose end cannot be told from its head (chunked): the socket no longer reads directly. */
  private lost = false;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH);
  private readonly headScratch = this.scratch.subarray(0, HEAD_SCRATCH);
  socket: Socket | null = null;

  constructor(
    private readonly pool: BufferPool,
    private readonly directs?: DirectReads,
  ) {}

  /** Called with each request head the socket writes (one request at a time per connection). */
  onRequest(head: string): void {
    this.next = this.directs?.forHead(head) ?? null;
  }

  target(): Buffer {
    if (this.direct?.revoked) {
      // The caller gave the destination up: no further byte may land there, and the body's end can no longer be
      // followed (undici destroys this connection anyway).
      this.body = null;
      this.direct = null;
      this.lost = true;
    }
    if (this.body) {
      // undici copies each piece it is handed into its parser's WebAssembly memory. Out of shared memory (a caller's
      // kernel memory) V8 copies with relaxed atomic loads: word by word when source and target are equally aligned,
      // byte by byte otherwise, about 3 times the CPU. So every direct read starts on an 8-byte boundary: when the
      // last read ended off one, the next few bytes (at most 7) come through the scratch buffer.
      const off = (this.body.byteOffset + this.filled) % ALIGN;
      if (this.direct && off !== 0)
        return this.scratch.subarray(0, Math.min(ALIGN - off, this.body.length - this.filled));
      return this.body.subarray(this.filled);
    }
    // Between responses (or past a body whose end cannot be told) a read may start a head.
    return this.skip > 0 || this.lost ? this.scratch : this.headScratch;
  }

  onRead(n: number, buf: Uint8Array): boolean {
    if (this.body && buf.buffer === this.body.buffer) {
      const view = this.body.subarray(this.filled, this.filled + n);
      if (this.direct) this.direct.direct += n;
      this.advance(n);
      this.socket?.push(view);
      return true;
    }
    const bytes = Buffer.from(buf.subarray(0, n));
    // With a body under way this was an aligning read of its bytes (see target): the handler copies them in.
    if (this.body) this.advance(n);
    else if (!this.lost) this.follow(bytes);
    this.socket?.push(bytes);
    return true;
  }

  /** `n` more bytes of the current body have arrived; past its end the next read may start a head. */
  private advance(n: number): void {
    this.filled += n;
    if (this.filled === this.body!.length) {
      this.body = null;
      this.direct = null;
    }
  }

  /** Walks the bytes of a scratch read: body bytes to skip, then heads, which say how long their bodies are. */
  private follow(bytes: Buffer): void {
    let at = 0;
    while (at < bytes.length && !this.lost) {
      if (this.skip > 0) {
        const s = Math.min(this.skip, bytes.length - at);
        this.skip -= s;
        at += s;
        continue;
      }
      const before = this.head.length;
      this.head = before ? Buffer.concat([this.head, bytes.subarray(at)]) : bytes.subarray(at);
      const end = this.head.indexOf('\r\n\r\n', Math.max(0, before - 3));
      if (end < 0) {
        this.head = Buffer.from(this.head);
        this.lost = this.head.length > MAX_HEAD;
        return;
      }
      const headText = this.head.toString('latin1', 0, end);
      const length = bodyLength(headText);
      at += end + 4 - before;
      this.head = Buffer.alloc(0);
      const d = this.next;
      this.next = null;
      if (length === null) this.lost = true;
      else if (length - (bytes.length - at) >= MIN_DIRECT) {
        const mine = d && !d.revoked && d.into.byteLength === length && /^HTTP\/1\.[01] 206 /.test(headText);
        this.body = mine ? Buffer.from(d.into.buffer, d.into.byteOffset, length) : this.pool.take(length);
        this.direct = mine ? d : null;
        this.filled = bytes.length - at;
        return;
      } else this.skip = length;
    }
  }
}

/** The body length a response head announces; null when it does not say (chunked, or no Content-Length). */
function bodyLength(head: string): number | null {
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  if (!status) return null;
  if (status < 200 || status === 204 || status === 304) return 0;
  if (/\r\ntransfer-encoding:/i.test(head)) return null;
  const m = /\r\ncontent-length:[ \t]*(\d+)[ \t]*(?:\r\n|$)/i.exec(head);
  return m ? Number(m[1]) : null;
}

/** Creates the connector; `options` go to every socket (TLS options reach `https:` sockets). */
export function bodyReadConnector(
  pool: BufferPool,
  options: buildConnector.BuildOptions = {},
  directs?: DirectReads,
): buildConnector.connector {
  const standard = buildConnector(options);
  return (opts, callback) => {
    if (opts.protocol !== 'http:') return standard(opts, callback);
    const reader = new BodyReader(pool, directs);
    const onread = { buffer: () => reader.target(), callback: (n: number, buf: Uint8Array) => reader.onRead(n, buf) };
    // buildConnector's connect returns the socket it creates, though its type says void.
    const connect = buildConnector({ ...options, onread } as buildConnector.BuildOptions) as unknown as (
      o: buildConnector.Options,
      cb: buildConnector.Callback,
    ) => Socket;
    const socket = connect(opts, callback);
    reader.socket = socket;
    if (directs) {
      // undici writes each request head as one latin1 string (client-h1.js, writeH1): the reader learns which
      // request the next response answers, and so whether its body has a destination.
      const write = socket.write.bind(socket) as (...a: unknown[]) => boolean;
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (typeof chunk === 'string' && chunk.startsWith('GET ')) reader.onRequest(chunk);
        return write(chunk, ...rest);
      }) as typeof socket.write;
    }
  };
}

/**
 * When `chunk` is a view into a pooled buffer of exactly `length` bytes at offset `filled`, that buffer: the socket
 * read this response's body straight into it, and the handler can take it over instead of copying.
 */
export function adoptableBody(chunk: Buffer, length: number, filled: number): Buffer | null {
  const ab = chunk.buffer;
  return ab instanceof ArrayBuffer && ab.byteLength === length && chunk.byteOffset === filled && length >= MIN_DIRECT
    ? Buffer.from(ab)
    : null;
}

/**
 * Collects one response body: in the caller's destination, else in the buffer the socket read it into (adopted),
 * else in one buffer of the announced length taken from the pool, else (no Content-Length) in pieces.
 */
export class BodySink {
  private body: Buffer | null = null;
  private taken = false;
  private pieces: Buffer[] = [];
  filled = 0;

  /** With `into` (exactly `length` bytes) the body is collected there: in place when the socket read it there. */
  constructor(
    private readonly pool: BufferPool,
    readonly length: number | null,
    into?: Uint8Array,
  ) {
    if (into && into.byteLength === length) this.body = Buffer.from(into.buffer, into.byteOffset, length);
  }

  /** Adds the next chunk; throws when the body runs past its announced length. */
  add(chunk: Buffer): void {
    if (this.length !== null && this.filled + chunk.length > this.length)
      throw new Error(`response body longer than its Content-Length ${this.length}`);
    if (!this.body && this.length !== null) {
      const adopted = adoptableBody(chunk, this.length, this.filled);
      // The read that carried the head may carry the body's first bytes too: keep them aside until the next chunk.
      if (!adopted && this.filled === 0) return this.keep(chunk);
      this.body = adopted ?? this.pool.take(this.length);
      this.taken = !adopted;
      let at = 0;
      for (const p of this.pieces.splice(0)) at += p.copy(this.body, at);
    }
    if (!this.body) return this.keep(chunk);
    if (chunk.buffer !== this.body.buffer || chunk.byteOffset !== this.body.byteOffset + this.filled)
      chunk.copy(this.body, this.filled);
    this.filled += chunk.length;
  }

  private keep(chunk: Buffer): void {
    this.pieces.push(Buffer.from(chunk));
    this.filled += chunk.length;
  }

  /** The whole body. */
  finish(): Buffer {
    return this.body ?? Buffer.concat(this.pieces);
  }

  /** Gives a buffer taken from the pool back. An adopted one is left to the collector: its socket may still be
   * writing into it while undici tears the connection down. */
  discard(): void {
    if (this.body && this.taken) this.pool.give(this.body);
    this.body = null;
  }
}
