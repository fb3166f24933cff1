/**
 * A reader for SentencePiece `tokenizer.model` files (a serialized `sentencepiece.ModelProto`). The SentencePiece
 * wasm build we encode with exposes no vocabulary API, so the pieces, their types and the normalizer settings are
 * read here. Field numbers: google/sentencepiece `src/sentencepiece_model.proto`.
 */

import { readVarint } from '../varint.ts';

/** SentencePiece.Type of sentencepiece_model.proto. */
export type PieceType = 'normal' | 'unknown' | 'control' | 'user_defined' | 'unused' | 'byte';

const PIECE_TYPES: Record<number, PieceType> = {
  1: 'normal',
  2: 'unknown',
  3: 'control',
  4: 'user_defined',
  5: 'unused',
  6: 'byte',
};
const MODEL_TYPES: Record<number, string> = { 1: 'unigram', 2: 'bpe', 3: 'word', 4: 'char' };

export interface SpmPiece {
  piece: string;
  score: number;
  type: PieceType;
}

/** What the checks need from a tokenizer.model. Defaults are the proto's defaults when a field is absent. */
export interface SpmModel {
  pieces: SpmPiece[];
  modelType: string;
  byteFallback: boolean;
  /** NormalizerSpec.name (e.g. `identity`, `nmt_nfkc`). */
  normalizer: string;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  /** The piece of type UNKNOWN, when there is one. */
  unkPiece: string | null;
}

interface Field {
  no: number;
  wire: number;
  /** varint value (wire 0), or the fixed32 bits (wire 5) */
  int: number;
  bytes: Uint8Array | null;
}

/** Iterates over the fields of one protobuf message; throws on a truncated or unknown wire type. */
function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    const { value, next } = readVarint(buf, pos);
    pos = next;
    return value;
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { no, wire, int: varint(), bytes: null };
    else if (wire === 1) {
      pos += 8;
      yield { no, wire, int: 0, bytes: null };
    } else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new Error(`field ${no} runs past the end of the message`);
      yield { no, wire, int: 0, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 5) {
      if (pos + 4 > buf.length) throw new Error('truncated fixed32');
      const int = new DataView(buf.buffer, buf.byteOffset + pos, 4).getUint32(0, true);
      pos += 4;
      yield { no, wire, int, bytes: null };
    } else throw new Error(`unsupported wire type ${wire} (field ${no})`);
  }
  if (pos > buf.length) throw new Error('message ends inside a field');
}

// ignoreBOM: a piece may be U+FEFF itself, which the default decoder would strip.
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function readPiece(buf: Uint8Array): SpmPiece {
  const p: SpmPiece = { piece: '', score: 0, type: 'normal' };
  for (const f of fields(buf)) {
    if (f.no === 1 && f.bytes) p.piece = utf8.decode(f.bytes);
    else if (f.no === 2 && f.wire === 5) p.score = new Float32Array(new Uint32Array([f.int]).buffer)[0];
    else if (f.no === 3 && f.wire === 0) p.type = PIECE_TYPES[f.int] ?? 'normal';
  }
  return p;
}

/**
 * Parses a serialized ModelProto. Throws when the bytes are not a well-formed protobuf message or hold no pieces
 * (what SentencePiece itself would refuse to load).
 */
export function parseSpmModel(bytes: Uint8Array): SpmModel {
  const m: SpmModel = {
    pieces: [],
    modelType: 'unigram',
    byteFallback: false,
    normalizer: 'nmt_nfkc',
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
    unkPiece: null,
  };
  for (const f of fields(bytes)) {
    if (f.no === 1 && f.bytes) m.pieces.push(readPiece(f.bytes));
    else if (f.no === 2 && f.bytes) {
      for (const t of fields(f.bytes)) {
        if (t.no === 3 && t.wire === 0) m.modelType = MODEL_TYPES[t.int] ?? `type ${t.int}`;
        else if (t.no === 35 && t.wire === 0) m.byteFallback = t.int !== 0;
      }
    } else if (f.no === 3 && f.bytes) {
      for (const n of fields(f.bytes)) {
        if (n.no === 1 && n.bytes) m.normalizer = utf8.decode(n.bytes);
        else if (n.no === 3 && n.wire === 0) m.addDummyPrefix = n.int !== 0;
        else if (n.no === 4 && n.wire === 0) m.removeExtraWhitespaces = n.int !== 0;
        else if (n.no === 5 && n.wire === 0) m.escapeWhitespaces = n.int !== 0;
      }
    }
  }
  if (m.pieces.length === 0) throw new Error('no pieces: not a SentencePiece model');
  m.unkPiece = m.pieces.find((p) => p.type === 'unknown')?.piece ?? null;
  return m;
}
