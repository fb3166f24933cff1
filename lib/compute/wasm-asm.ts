/**
 * A minimal WebAssembly binary encoder: just enough to hand-write the row-statistics kernels without a
 * toolchain. Opcode numbers are from the WebAssembly core spec (§5.4) and the fixed-width SIMD proposal
 * as merged into the spec (prefix 0xFD).
 */

import { encodeVarint as uleb } from '../../checks/varint.ts';

/** Signed LEB128 (for i32.const). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const utf8 = (s: string): number[] => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s, 'utf8')];

/** Value types. */
export const I32 = 0x7f;
export const V128 = 0x7b;

/** SIMD opcodes used by the kernels (after the 0xFD prefix). */
export const SIMD = {
  'v128.load': 0x00,
  'v128.store': 0x0b,
  'v128.const': 0x0c,
  'i32x4.splat': 0x11,
  'f32x4.splat': 0x13,
  'i32x4.gt_s': 0x3b,
  'v128.and': 0x4e,
  'v128.or': 0x50,
  'f32x4.nearest': 0x6a,
  'i32x4.extend_low_i16x8_u': 0xa9,
  'i32x4.extend_high_i16x8_u': 0xaa,
  'i32x4.shl': 0xab,
  'i32x4.add': 0xae,
  'f32x4.abs': 0xe0,
  'f32x4.add': 0xe4,
  'f32x4.mul': 0xe6,
  'f32x4.pmax': 0xeb,
} as const;
export type SimdOp = keyof typeof SIMD;

/** Builds one function body as a byte list, WAT-like: `f.get(0).get(1).op(0x6a)`. */
export class FuncBody {
  readonly bytes: number[] = [];
  get(i: number): this {
    this.bytes.push(0x20, ...uleb(i));
    return this;
  }
  set(i: number): this {
    this.bytes.push(0x21, ...uleb(i));
    return this;
  }
  tee(i: number): this {
    this.bytes.push(0x22, ...uleb(i));
    return this;
  }
  i32(n: number): this {
    this.bytes.push(0x41, ...sleb(n | 0));
    return this;
  }
  /** A plain (non-prefixed) opcode, e.g. 0x6a i32.add. */
  op(code: number): this {
    this.bytes.push(code);
    return this;
  }
  block(): this {
    this.bytes.push(0x02, 0x40);
    return this;
  }
  loop(): this {
    this.bytes.push(0x03, 0x40);
    return this;
  }
  end(): this {
    this.bytes.push(0x0b);
    return this;
  }
  br(depth: number): this {
    this.bytes.push(0x0c, ...uleb(depth));
    return this;
  }
  brIf(depth: number): this {
    this.bytes.push(0x0d, ...uleb(depth));
    return this;
  }
  simd(name: SimdOp): this {
    this.bytes.push(0xfd, ...uleb(SIMD[name]));
    return this;
  }
  /** v128.load / v128.store with a static offset (alignment hint 16 bytes). */
  mem(name: 'v128.load' | 'v128.store', offset = 0): this {
    this.bytes.push(0xfd, ...uleb(SIMD[name]), 4, ...uleb(offset));
    return this;
  }
  /** v128.const from four 32-bit lanes. */
  v128(lanes: [number, number, number, number]): this {
    const b = Buffer.alloc(16);
    lanes.forEach((l, i) => b.writeUInt32LE(l >>> 0, i * 4));
    this.bytes.push(0xfd, ...uleb(SIMD['v128.const']), ...b);
    return this;
  }
  splat32(bits: number): this {
    return this.v128([bits, bits, bits, bits]);
  }
}

export interface FuncDef {
  name: string;
  params: number[];
  /** Extra locals, in order after the params. */
  locals: number[];
  body: FuncBody;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

/**
 * Encodes a module with one exported memory (`mem`) and the given exported functions (no results). The memory is
 * the module's own (`memoryPages` initial pages), or with `importShared` imported as `env.mem`: a shared memory of
 * at most `maxPages` pages that the instantiating thread passes in (threads proposal limits flag 0x03: shared, with
 * a maximum).
 */
export function encodeModule(
  funcs: FuncDef[],
  memoryPages = 1,
  importShared?: { maxPages: number },
): Uint8Array<ArrayBuffer> {
  const types = vec(funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]));
  const funcIdx = vec(funcs.map((_, i) => uleb(i)));
  const memory = vec([[0x00, ...uleb(memoryPages)]]);
  const imports = importShared
    ? vec([[...utf8('env'), ...utf8('mem'), 0x02, 0x03, ...uleb(0), ...uleb(importShared.maxPages)]])
    : null;
  const exports = vec([[...utf8('mem'), 0x02, 0], ...funcs.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)])]);
  const code = vec(
    funcs.map((f) => {
      const runs: number[][] = [];
      for (const t of f.locals) {
        const last = runs[runs.length - 1];
        if (last && last[1] === t) last[0]++;
        else runs.push([1, t]);
      }
      const body = [...vec(runs.map(([n, t]) => [...uleb(n), t])), ...f.body.bytes, 0x0b];
      return [...uleb(body.length), ...body];
    }),
  );
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, types),
    ...(imports ? section(2, imports) : []),
    ...section(3, funcIdx),
    ...(imports ? [] : section(5, memory)),
    ...section(7, exports),
    ...section(10, code),
  ]);
}
