/**
 * A fetch `Response` whose body is already in memory, in one buffer: `arrayBuffer()` hands that buffer over
 * without a copy when the buffer owns its whole ArrayBuffer (range-fetch.ts allocates bodies that way, from a pool).
 */
export class BufferedResponse extends Response {
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

/** The zero-length ArrayBuffers that stand for a body delivered into the caller's memory (RangeRequestInit.into). */
const deliveredTokens = new WeakSet<ArrayBuffer>();

/** A new token for a body that went into the caller's memory: what that response's arrayBuffer() answers. */
export function deliveredToken(): ArrayBuffer {
  const token = new ArrayBuffer(0);
  deliveredTokens.add(token);
  return token;
}

/** Whether `body` (what a response's arrayBuffer() gave) says the bytes went into the request's `into`. */
export function delivered(body: ArrayBuffer): boolean {
  return deliveredTokens.has(body);
}
