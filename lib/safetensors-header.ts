import type { SafetensorsFileInfo, SafetensorsInventory, TensorInfo } from '../checks/types.ts';
import type { ByteSource, SourceFile } from './byte-source.ts';
import { SourceError } from './byte-source.ts';
import { isSafeRepoPath } from './repo-path.ts';

/** Bytes per element of the safetensors dtypes we understand. */
export const DTYPE_SIZES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/**
 * Upper bound on a header we read and parse (16 MiB). A header holds ~100-200 bytes of JSON per tensor, e.g.
 * `"model.layers.60.mlp.experts.255.down_proj.weight":{"dtype":"F8_E4M3","shape":[7168,2048],"data_offsets":[…]}`.
 * The largest releases have ~92k tensors in all (DeepSeek-V3: 61 layers × 256 experts × 3 weights, each with an FP8
 * scale tensor) spread over 163 shards, so ~0.1 MB per shard; even all of them in one file would be ~14 MB.
 * The reference loader accepts 100 MB (huggingface/safetensors MAX_HEADER_SIZE) and huggingface.js 25 MB; parsing
 * 100 MB of JSON took 1.6 GB, so a header past this bound is refused unread (FILE_MALFORMED).
 */
export const MAX_HEADER_BYTES = 16 << 20;

export class SafetensorsHeaderError extends Error {
  override name = 'SafetensorsHeaderError';
}

const fail = (msg: string): never => {
  throw new SafetensorsHeaderError(msg);
};

/** `__metadata__` must be a map of strings (the Rust loader deserialises it as HashMap<String, String>). */
function parseMetadata(v: unknown): Record<string, string> | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) return fail('__metadata__ is not an object');
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string') fail(`__metadata__.${k} is not a string`);
  }
  return v as Record<string, string>;
}

/** One tensor entry: known dtype, integer shape, offsets inside the data section, byte length = shape × item size. */
function parseTensor(file: string, name: string, v: unknown, dataSize: number): TensorInfo {
  const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (!t || typeof t !== 'object' || Array.isArray(t)) fail(`tensor ${name}: entry is not an object`);
  if (typeof t.dtype !== 'string' || !Object.hasOwn(DTYPE_SIZES, t.dtype))
    fail(`tensor ${name}: unknown dtype ${JSON.stringify(t.dtype)}`);
  const dtype = t.dtype as string;
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    fail(`tensor ${name}: invalid shape ${JSON.stringify(t.shape)}`);
  const shape = t.shape as number[];
  const off = t.data_offsets;
  if (
    !Array.isArray(off) ||
    off.length !== 2 ||
    !off.every((d) => Number.isSafeInteger(d) && d >= 0) ||
    off[0] > off[1]
  ) {
    fail(`tensor ${name}: invalid data_offsets ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as [number, number];
  if (end > dataSize)
    fail(`tensor ${name}: data_offsets ${begin}-${end} run past the end of the data section (${dataSize} bytes)`);
  const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[dtype];
  if (!Number.isSafeInteger(expected)) fail(`tensor ${name}: shape ${JSON.stringify(shape)} overflows`);
  if (end - begin !== expected) {
    fail(
      `tensor ${name}: ${end - begin} bytes in data_offsets but shape ${JSON.stringify(shape)} × ${dtype} needs ${expected}`,
    );
  }
  return { name, dtype, shape, file, dataOffsets: [begin, end] };
}

/**
 * The data section must be covered exactly, as the reference loader (huggingface/safetensors `validate`) demands:
 * tensors back to back from offset 0 with no overlap and no gap, the last one ending at the end of the file.
 */
function checkCoverage(tensors: TensorInfo[], dataSize: number): void {
  const sorted = [...tensors].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let at = 0;
  let prev: string | null = null;
  for (const t of sorted) {
    const [begin, end] = t.dataOffsets;
    if (begin < at) fail(`tensors ${prev} and ${t.name} overlap (${t.name} starts at ${begin}, ${prev} ends at ${at})`);
    if (begin > at)
      fail(`${begin - at} bytes of the data section before ${t.name} (offset ${at}-${begin}) belong to no tensor`);
    at = end;
    prev = t.name;
  }
  if (at !== dataSize) fail(`the data section is ${dataSize} bytes but the tensors cover ${at}`);
}

/**
 * Validates a parsed safetensors header against the file size: JSON object starting with '{', dtypes known,
 * offsets inside the data section, byte length = product(shape) × item size, tensors covering the data section
 * without overlap or gap. Throws SafetensorsHeaderError saying what was wrong.
 */
export function parseHeaderJson(
  file: string,
  json: string,
  headerLength: number,
  fileSize: number,
): { tensors: TensorInfo[]; metadata: Record<string, string> | null } {
  if (!json.startsWith('{')) fail(`header does not start with '{' (starts with ${JSON.stringify(json.slice(0, 16))})`);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('header is not a JSON object');
  const dataSize = fileSize - 8 - headerLength;
  if (dataSize < 0) fail(`header length ${headerLength} exceeds the file size ${fileSize}`);
  const tensors: TensorInfo[] = [];
  let metadata: Record<string, string> | null = null;
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') metadata = parseMetadata(v);
    else tensors.push(parseTensor(file, name, v, dataSize));
  }
  checkCoverage(tensors, dataSize);
  return { tensors, metadata };
}

/** Reads and validates one safetensors header with two ranged reads. Never throws: errors are recorded. */
export async function readSafetensorsHeader(
  source: ByteSource,
  file: SourceFile,
): Promise<{ info: SafetensorsFileInfo; tensors: TensorInfo[] }> {
  const info: SafetensorsFileInfo = { path: file.path, size: file.size, headerLength: 0, metadata: null };
  try {
    if (file.size < 8)
      throw new SafetensorsHeaderError(`file is ${file.size} bytes, shorter than the 8-byte header length`);
    const lenBytes = await source.readRange(file.path, 0, 8);
    const len = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
    if (len > BigInt(Math.min(MAX_HEADER_BYTES, file.size - 8))) {
      throw new SafetensorsHeaderError(
        `header length ${len} exceeds ${len > BigInt(MAX_HEADER_BYTES) ? `the ${MAX_HEADER_BYTES}-byte cap` : `the file size ${file.size}`}`,
      );
    }
    info.headerLength = Number(len);
    let json: string;
    try {
      json = new TextDecoder('utf-8', { fatal: true }).decode(
        await source.readRange(file.path, 8, 8 + info.headerLength),
      );
    } catch (e) {
      if (e instanceof SourceError) throw e;
      throw new SafetensorsHeaderError('header is not valid UTF-8');
    }
    const parsed = parseHeaderJson(file.path, json, info.headerLength, file.size);
    info.metadata = parsed.metadata;
    return { info, tensors: parsed.tensors };
  } catch (e) {
    info.error = e instanceof Error ? e.message : String(e);
    info.errorKind = e instanceof SourceError ? 'io' : 'malformed';
    return { info, tensors: [] };
  }
}

/**
 * Reads every safetensors header of a revision: the files named by `model.safetensors.index.json` when
 * present (missing shards are recorded), otherwise every `*.safetensors` file at the top level.
 */
export async function readSafetensorsInventory(
  source: ByteSource,
  files: SourceFile[],
  indexText: string | null,
): Promise<SafetensorsInventory | null> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const errors: string[] = [];
  let index: string | null = null;
  let shardNames: string[];
  if (indexText !== null) {
    index = 'model.safetensors.index.json';
    shardNames = [];
    try {
      const parsed = JSON.parse(indexText) as { weight_map?: Record<string, string> };
      if (!parsed.weight_map || typeof parsed.weight_map !== 'object') throw new Error('no weight_map');
      const named = [...new Set(Object.values(parsed.weight_map))].sort();
      // A shard is a file of this repo: `../../x` or `https://evil/x` is never fetched, it is a malformed index.
      for (const s of named.filter((n) => typeof n !== 'string' || !isSafeRepoPath(n)))
        errors.push(`index names shard ${JSON.stringify(s).slice(0, 200)}, which is not a path inside the repo`);
      shardNames = named.filter((n) => typeof n === 'string' && isSafeRepoPath(n));
      for (const s of shardNames) if (!byPath.has(s)) errors.push(`index names shard ${s}, which is not in the repo`);
    } catch (e) {
      errors.push(`${index}: ${(e as Error).message}`);
    }
    shardNames = shardNames.filter((s) => byPath.has(s));
    if (shardNames.length === 0)
      shardNames = files.filter((f) => f.path.endsWith('.safetensors') && !f.path.includes('/')).map((f) => f.path);
  } else {
    shardNames = files.filter((f) => f.path.endsWith('.safetensors') && !f.path.includes('/')).map((f) => f.path);
  }
  if (shardNames.length === 0 && index === null) return null;
  const results = await Promise.all(shardNames.map((s) => readSafetensorsHeader(source, byPath.get(s)!)));
  const tensors: Record<string, TensorInfo> = {};
  for (const r of results) {
    for (const t of r.tensors) {
      if (tensors[t.name]) errors.push(`tensor ${t.name} appears in both ${tensors[t.name].file} and ${t.file}`);
      else tensors[t.name] = t;
    }
  }
  return { index, files: results.map((r) => r.info), tensors, errors };
}
