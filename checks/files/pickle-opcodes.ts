/**
 * A pickle opcode reader (protocols 0–5) that lists the globals a pickle imports without executing anything.
 * Opcodes and argument encodings follow CPython's Lib/pickletools.py; the way STACK_GLOBAL's two string arguments
 * are found (the nearest string pushes, through the memo) is the approach of picklescan (mmaitre314/picklescan).
 */

export interface PickleGlobal {
  module: string;
  name: string;
}

export interface PickleStreamScan {
  /** Globals imported by GLOBAL, INST or STACK_GLOBAL; `unknown` where an argument is not a plain string. */
  globals: PickleGlobal[];
  /** Offset just past the STOP opcode, or null when the stream did not end within the bytes given. */
  end: number | null;
  /** The bytes ran out before STOP: the caller may read more and scan again. */
  truncated: boolean;
  /** Not a valid pickle at some point (unknown opcode, bad argument). */
  error: string | null;
  protocol: number;
}

/** Fixed-length arguments (bytes) by opcode. */
const FIXED: Record<number, number> = {
  0x80: 1, // PROTO
  0x95: 8, // FRAME
  0x4a: 4, // BININT
  0x4b: 1, // BININT1
  0x4d: 2, // BININT2
  0x47: 8, // BINFLOAT
  0x68: 1, // BINGET
  0x6a: 4, // LONG_BINGET
  0x71: 1, // BINPUT
  0x72: 4, // LONG_BINPUT
  0x82: 1, // EXT1
  0x83: 2, // EXT2
  0x84: 4, // EXT4
};

/** Length-prefixed arguments: size of the little-endian length field, by opcode. */
const COUNTED: Record<number, number> = {
  0x8a: 1, // LONG1
  0x8b: 4, // LONG4
  0x54: 4, // BINSTRING
  0x55: 1, // SHORT_BINSTRING
  0x58: 4, // BINUNICODE
  0x8c: 1, // SHORT_BINUNICODE
  0x8d: 8, // BINUNICODE8
  0x42: 4, // BINBYTES
  0x43: 1, // SHORT_BINBYTES
  0x8e: 8, // BINBYTES8
  0x96: 8, // BYTEARRAY8
};

/** Opcodes whose argument is one newline-terminated line (protocol 0); GLOBAL and INST take two. */
const LINE = new Set([0x49, 0x4c, 0x46, 0x53, 0x56, 0x67, 0x70, 0x50]); // INT LONG FLOAT STRING UNICODE GET PUT PERSID
const TWO_LINES = new Set([0x63, 0x69]); // GLOBAL, INST

/** Opcodes without argument. */
const BARE = new Set([
  0x28, 0x2e, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x52, 0x62, 0x61, 0x65, 0x64, 0x7d, 0x6c, 0x5d, 0x74, 0x29, 0x85,
  0x86, 0x87, 0x73, 0x75, 0x6f, 0x81, 0x92, 0x93, 0x94, 0x8f, 0x90, 0x91, 0x51, 0x97, 0x98,
]);

const STRING_OPS = new Set([0x53, 0x54, 0x55, 0x56, 0x58, 0x8c, 0x8d]);
const PUT_OPS = new Set([0x70, 0x71, 0x72, 0x94]);
const GET_OPS = new Set([0x67, 0x68, 0x6a]);
const STOP = 0x2e;
const STACK_GLOBAL = 0x93;

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

type Op = { code: number; value: string | number | null };

function readUint(b: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[at + i];
  return v;
}

/** The string a STRING opcode's quoted repr line stands for (quotes removed; escapes left as written). */
function unquote(line: string): string {
  const q = line[0];
  return (q === "'" || q === '"') && line.endsWith(q) ? line.slice(1, -1) : line;
}

/** The two arguments of STACK_GLOBAL: the nearest value-pushing ops before it, resolved through the memo. */
function stackGlobal(history: Op[], memo: Map<number, string | number | null>): PickleGlobal {
  const values: string[] = [];
  for (let i = history.length - 1; i >= 0 && values.length < 2; i--) {
    const op = history[i];
    if (PUT_OPS.has(op.code)) continue;
    if (GET_OPS.has(op.code)) {
      const v = memo.get(Number(op.value));
      values.push(typeof v === 'string' ? v : 'unknown');
    } else values.push(STRING_OPS.has(op.code) && typeof op.value === 'string' ? op.value : 'unknown');
  }
  while (values.length < 2) values.push('unknown');
  return { module: values[1], name: values[0] };
}

/**
 * Scans one pickle stream starting at `start` up to its STOP opcode, listing the globals it imports. Never
 * executes, never allocates more than the argument of one opcode; stops at the first invalid opcode.
 */
export function scanPickleStream(b: Uint8Array, start = 0): PickleStreamScan {
  const out: PickleStreamScan = { globals: [], end: null, truncated: false, error: null, protocol: 0 };
  const seen = new Set<string>();
  const memo = new Map<number, string | number | null>();
  const history: Op[] = [];
  const add = (g: PickleGlobal): void => {
    const key = `${g.module}\n${g.name}`;
    if (!seen.has(key) && seen.size < 10_000) {
      seen.add(key);
      out.globals.push(g);
    }
  };
  let at = start;
  const need = (n: number): boolean => {
    if (at + n <= b.length) return true;
    out.truncated = true;
    return false;
  };
  const line = (): string | null => {
    const nl = b.indexOf(0x0a, at);
    if (nl < 0) {
      out.truncated = true;
      return null;
    }
    const s = utf8.decode(b.subarray(at, nl)).replace(/\r$/, '');
    at = nl + 1;
    return s;
  };
  while (at < b.length) {
    const pos = at;
    const code = b[at++];
    let value: string | number | null = null;
    if (code in FIXED) {
      const n = FIXED[code];
      if (!need(n)) return out;
      value = readUint(b, at, n);
      at += n;
      if (code === 0x80) out.protocol = value;
    } else if (code in COUNTED) {
      const n = COUNTED[code];
      if (!need(n)) return out;
      const len = readUint(b, at, n);
      at += n;
      if (!Number.isSafeInteger(len) || !need(len)) return out;
      if (STRING_OPS.has(code))
        value = (code === 0x54 || code === 0x55 ? latin1 : utf8).decode(b.subarray(at, at + len));
      at += len;
    } else if (LINE.has(code)) {
      const s = line();
      if (s === null) return out;
      value = code === 0x53 ? unquote(s) : GET_OPS.has(code) || PUT_OPS.has(code) ? Number(s) : s;
    } else if (TWO_LINES.has(code)) {
      const module = line();
      const name = module === null ? null : line();
      if (module === null || name === null) return out;
      add({ module, name });
    } else if (!BARE.has(code)) {
      out.error = `unknown opcode 0x${code.toString(16).padStart(2, '0')} at offset ${pos}`;
      return out;
    }
    if (code === STACK_GLOBAL) add(stackGlobal(history, memo));
    if (PUT_OPS.has(code) && history.length) {
      const prev = history[history.length - 1];
      memo.set(
        code === 0x94 ? memo.size : Number(value),
        GET_OPS.has(prev.code) ? (memo.get(Number(prev.value)) ?? null) : prev.value,
      );
    }
    history.push({ code, value });
    if (history.length > 8) history.shift();
    if (code === STOP) {
      out.end = at;
      return out;
    }
  }
  out.truncated = true;
  return out;
}

/**
 * Scans consecutive pickle streams (a legacy torch file holds five before its raw storage data), at most
 * `maxStreams`. Bytes after the last complete stream that do not parse as a pickle end the scan quietly.
 */
export function scanPickles(b: Uint8Array, maxStreams: number): { streams: PickleStreamScan[]; end: number } {
  const streams: PickleStreamScan[] = [];
  let at = 0;
  while (streams.length < maxStreams && at < b.length) {
    const s = scanPickleStream(b, at);
    // After a complete stream, bytes that are not a pickle are the file's payload (a legacy file's storages).
    if (streams.length > 0 && s.error !== null && s.globals.length === 0) break;
    streams.push(s);
    if (s.end === null) break;
    at = s.end;
  }
  return { streams, end: at };
}
