import type { SafetensorsFileInfo, SafetensorsInventory, TensorInfo } from '../checks/types.ts';
import type { ByteSource, SourceFile } from './byte-source.ts';

/** Bytes per element of the safetensors dtypes we understand. */
export const DTYPE_SIZES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

/** Upper bound on a header we are willing to read (the Hub's own parser uses 25 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsHeaderError extends Error {
  override name = 'SafetensorsHeaderError';
}

/**
 * Validates a parsed safetensors header against the file size: dtypes known, offsets inside the data
 * section, byte length = product(shape) × item size, no two tensors overlapping.
 * Throws SafetensorsHeaderError saying what was wrong.
 */
export function parseHeaderJson(file: string, json: string, headerLength: number, fileSize: number): { tensors: TensorInfo[]; metadata: Record<string, string> | null } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new SafetensorsHeaderError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsHeaderError('header is not a JSON object');
  const dataSize = fileSize - 8 - headerLength;
  const tensors: TensorInfo[] = [];
  let metadata: Record<string, string> | null = null;
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = v && typeof v === 'object' ? (v as Record<string, string>) : null;
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!t || typeof t !== 'object') throw new SafetensorsHeaderError(`tensor ${name}: entry is not an object`);
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_SIZES)) throw new SafetensorsHeaderError(`tensor ${name}: unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SafetensorsHeaderError(`tensor ${name}: invalid shape ${JSON.stringify(t.shape)}`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      throw new SafetensorsHeaderError(`tensor ${name}: invalid data_offsets ${JSON.stringify(off)}`);
    }
    if (off[1] > dataSize) throw new SafetensorsHeaderError(`tensor ${name}: data_offsets ${off[0]}-${off[1]} run past the end of the data section (${dataSize} bytes)`);
    const expected = (t.shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_SIZES[t.dtype];
    if (off[1] - off[0] !== expected) {
      throw new SafetensorsHeaderError(`tensor ${name}: ${off[1] - off[0]} bytes in data_offsets but shape ${JSON.stringify(t.shape)} × ${t.dtype} needs ${expected}`);
    }
    tensors.push({ name, dtype: t.dtype, shape: t.shape as number[], file, dataOffsets: [off[0], off[1]] });
  }
  const sorted = [...tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].dataOffsets[0] < sorted[i - 1].dataOffsets[1]) {
      throw new SafetensorsHeaderError(`tensors ${sorted[i - 1].name} and ${sorted[i].name} overlap`);
    }
  }
  return { tensors, metadata };
}

/** Reads and validates one safetensors header with two ranged reads. Never throws: errors are recorded. */
export async function readSafetensorsHeader(source: ByteSource, file: SourceFile): Promise<{ info: SafetensorsFileInfo; tensors: TensorInfo[] }> {
  const info: SafetensorsFileInfo = { path: file.path, size: file.size, headerLength: 0, metadata: null };
  try {
    if (file.size < 8) throw new SafetensorsHeaderError(`file is ${file.size} bytes, shorter than the 8-byte header length`);
    const lenBytes = await source.readRange(file.path, 0, 8);
    const len = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
    if (len > BigInt(Math.min(MAX_HEADER_BYTES, file.size - 8))) {
      throw new SafetensorsHeaderError(`header length ${len} exceeds ${len > BigInt(MAX_HEADER_BYTES) ? `the ${MAX_HEADER_BYTES}-byte cap` : `the file size ${file.size}`}`);
    }
    info.headerLength = Number(len);
    const json = new TextDecoder().decode(await source.readRange(file.path, 8, 8 + info.headerLength));
    const parsed = parseHeaderJson(file.path, json, info.headerLength, file.size);
    info.metadata = parsed.metadata;
    return { info, tensors: parsed.tensors };
  } catch (e) {
    info.error = e instanceof Error ? e.message : String(e);
    return { info, tensors: [] };
  }
}

/**
 * Reads every safetensors header of a revision: the files named by `model.safetensors.index.json` when
 * present (missing shards are recorded), otherwise every `*.safetensors` file at the top level.
 */
export async function readSafetensorsInventory(source: ByteSource, files: SourceFile[], indexText: string | null): Promise<SafetensorsInventory | null> {
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
      shardNames = [...new Set(Object.values(parsed.weight_map))].sort();
      for (const s of shardNames) if (!byPath.has(s)) errors.push(`index names shard ${s}, which is not in the repo`);
    } catch (e) {
      errors.push(`${index}: ${(e as Error).message}`);
    }
    shardNames = shardNames.filter((s) => byPath.has(s));
    if (shardNames.length === 0) shardNames = files.filter((f) => f.path.endsWith('.safetensors') && !f.path.includes('/')).map((f) => f.path);
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
