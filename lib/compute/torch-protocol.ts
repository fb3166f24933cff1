/**
 * Framing of the torch worker protocol (runners/torch/PROTOCOL.md): every message is a 4-byte little-endian header
 * length, a UTF-8 JSON header, then `nbytes` raw bytes of payload. Replies describe their payload as `arrays`
 * (name, dtype, length) laid back to back.
 */

export interface ReplyArray {
  name: string;
  dtype: 'F32' | 'F64' | 'I32';
  length: number;
}

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  arrays: ReplyArray[];
  nbytes: number;
  [key: string]: unknown;
}

/** Encodes one request: header (with `nbytes` set from the payload) and payload parts. */
export function encodeRequest(header: Record<string, unknown>, parts: Uint8Array[] = []): Uint8Array[] {
  const nbytes = parts.reduce((n, p) => n + p.byteLength, 0);
  const body = Buffer.from(JSON.stringify({ ...header, nbytes }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length, 0);
  return [len, body, ...parts];
}

/** Incremental reader of reply frames from a byte stream. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: Reply | null = null;

  constructor(private readonly onFrame: (reply: Reply, payload: Buffer) => void) {}

  push(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    for (;;) {
      if (!this.header) {
        if (this.buffered < 4) return;
        const len = this.peek(4).readUInt32LE(0);
        if (this.buffered < 4 + len) return;
        this.take(4);
        this.header = JSON.parse(this.take(len).toString('utf8')) as Reply;
      }
      const need = this.header.nbytes ?? 0;
      if (this.buffered < need) return;
      const payload = need ? this.take(need) : Buffer.alloc(0);
      const h = this.header;
      this.header = null;
      this.onFrame(h, payload);
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}

/** The named arrays of a reply's payload as typed arrays (copied, so they are aligned). */
export function replyArrays(reply: Reply, payload: Buffer): Record<string, Float32Array | Float64Array | Int32Array> {
  const out: Record<string, Float32Array | Float64Array | Int32Array> = {};
  let at = 0;
  for (const a of reply.arrays ?? []) {
    const bytes = new Uint8Array(payload.subarray(at, at + a.length)).buffer;
    at += a.length;
    out[a.name] =
      a.dtype === 'F32' ? new Float32Array(bytes) : a.dtype === 'F64' ? new Float64Array(bytes) : new Int32Array(bytes);
  }
  return out;
}
