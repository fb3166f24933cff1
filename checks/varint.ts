/**
 * Unsigned LEB128 varints, the integer encoding shared by protobuf (a SentencePiece `tokenizer.model` is a serialized
 * ModelProto) and the WebAssembly binary format: seven bits per byte, low bits first, the high bit set on every byte
 * but the last. Values are non-negative safe integers (protobuf's 64-bit varints beyond 2^53 are not needed here).
 */

/** The bytes of `n` (a non-negative safe integer). */
export function encodeVarint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Reads the varint that starts at `pos`; throws when it is truncated or longer than ten bytes. */
export function readVarint(buf: Uint8Array, pos: number): { value: number; next: number } {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return { value, next: pos };
    mul *= 128;
  }
  throw new Error('varint too long');
}
