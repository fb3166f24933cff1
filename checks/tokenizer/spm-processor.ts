/**
 * Loads a SentencePiece model from bytes with @agnai/sentencepiece-js (the reference slow tokenizer: Google's
 * C++ SentencePiece compiled to wasm). The library only offers `load(path)`, which creates the wasm module, copies
 * the file into the module's in-memory file system with fs.readFileSync and loads it from there; checks may not
 * read files, so we write the bytes into that in-memory file system ourselves.
 */
import { SentencePieceProcessor } from '@agnai/sentencepiece-js';

interface Deletable {
  delete(): void;
}
interface StringView extends Deletable {
  getView(): Deletable;
}
interface IntVector extends Deletable {
  size(): number;
  get(i: number): number;
}
interface Status extends Deletable {
  ToString(): string;
}
interface RawProcessor extends Deletable {
  Load(view: Deletable): Status;
  EncodeAsIds(view: Deletable): IntVector;
  EncodeAsPieces(view: Deletable): { size(): number; get(i: number): string } & Deletable;
}
interface WasmModule {
  FS: { writeFile(name: string, data: Uint8Array): void; unlink(name: string): void };
  StringView: new (s: string) => StringView;
  SentencePieceProcessor: new () => RawProcessor;
}

/** The slow tokenizer: encodes text exactly as SentencePiece does (no BOS/EOS added). */
export interface SpmProcessor {
  encodeIds(text: string): number[];
  encodePieces(text: string): string[];
}

/** A fresh wasm module instance of the SentencePiece build. */
async function wasmModule(): Promise<WasmModule> {
  const p = new SentencePieceProcessor();
  // load() assigns the module before it reads the path; a non-string path makes fs.readFileSync throw
  // ERR_INVALID_ARG_TYPE before any file is touched, which leaves us the module to load bytes into.
  await p.load(undefined).catch(() => undefined);
  if (!p.sentencepiece) throw new Error('the SentencePiece wasm module did not start');
  return p.sentencepiece as WasmModule;
}

function withView<T>(m: WasmModule, text: string, fn: (view: Deletable) => T): T {
  const sv = new m.StringView(text);
  const view = sv.getView();
  try {
    return fn(view);
  } finally {
    view.delete();
    sv.delete();
  }
}

let counter = 0;

/**
 * Loads a serialized SentencePiece ModelProto. Throws with SentencePiece's own message when it refuses the model.
 */
export async function loadSpmProcessor(bytes: Uint8Array): Promise<SpmProcessor> {
  const m = await wasmModule();
  const name = `model-${++counter}.model`;
  m.FS.writeFile(name, bytes);
  const processor = new m.SentencePieceProcessor();
  const status = withView(m, name, (v) => processor.Load(v));
  const message = status.ToString();
  status.delete();
  m.FS.unlink(name);
  if (message !== 'OK' && message !== '')
    throw new Error(`SentencePiece cannot load tokenizer.model: ${message.trim()}`);
  return {
    encodeIds: (text) =>
      withView(m, text, (v) => {
        const vec = processor.EncodeAsIds(v);
        const out = Array.from({ length: vec.size() }, (_, i) => vec.get(i));
        vec.delete();
        return out;
      }),
    encodePieces: (text) =>
      withView(m, text, (v) => {
        const vec = processor.EncodeAsPieces(v);
        const out = Array.from({ length: vec.size() }, (_, i) => vec.get(i));
        vec.delete();
        return out;
      }),
  };
}
