import type { ReleaseFiles, SnapshotFile } from '../types.ts';
import { scanPickles } from './pickle-opcodes.ts';
import type { PickleStreamScan } from './pickle-opcodes.ts';
import {
  findZipEnd,
  isZip,
  localDataOffset,
  parseCentralDirectory,
  parseZip64End,
  ZIP_TAIL_BYTES,
} from './zip-directory.ts';

/** What was learned from one pickle-format file: the pickle streams scanned and what could not be scanned. */
export interface PickleFileScan {
  path: string;
  format: 'zip' | 'pickle' | 'not-pickle';
  streams: { entry: string | null; scan: PickleStreamScan }[];
  /** Parts left unscanned, with the reason (over the stream cap, unknown compression, not a valid archive). */
  unscanned: string[];
}

export interface PickleLimits {
  /** Largest pickle stream read (bytes); a longer one is reported unscanned. */
  maxStreamBytes: number;
  /** Largest central directory read (bytes). */
  maxDirectoryBytes: number;
  /** Pickle entries scanned per archive. */
  maxEntries: number;
}

export const PICKLE_LIMITS: PickleLimits = { maxStreamBytes: 64 << 20, maxDirectoryBytes: 16 << 20, maxEntries: 16 };

// A legacy torch file holds five pickles (magic number, protocol, sys info, the object, storage keys) and then raw
// storage bytes (torch/serialization.py `_legacy_save`); a plain pickle file holds one or more.
const LEGACY_STREAMS = 5;

/** Whether bytes start like a pickle: PROTO 2–5, or a protocol 0/1 opener (MARK, GLOBAL, empty containers, NONE). */
function looksLikePickle(head: Uint8Array): boolean {
  if (head.length < 2) return false;
  if (head[0] === 0x80) return head[1] <= 5;
  return [0x28, 0x63, 0x7d, 0x5d, 0x29, 0x4e].includes(head[0]);
}

async function inflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Reads the pickle stream at the start of a file, growing the window until the streams end or the cap is hit. */
async function scanLeadingPickles(files: ReleaseFiles, f: SnapshotFile, L: PickleLimits, out: PickleFileScan) {
  let window = Math.min(f.size, 1 << 20);
  for (;;) {
    const { streams } = scanPickles(await files.readRange(f.path, 0, window), LEGACY_STREAMS);
    const last = streams[streams.length - 1];
    if (last?.truncated && window < f.size && window < L.maxStreamBytes) {
      window = Math.min(f.size, L.maxStreamBytes, window * 8);
      continue;
    }
    if (last?.truncated && window < f.size) out.unscanned.push(`pickle stream longer than ${L.maxStreamBytes} bytes`);
    out.streams = streams.map((scan) => ({ entry: null, scan }));
    return;
  }
}

/** The central directory of a ZIP by ranged reads of its end (ZIP64 included). Throws Error when malformed. */
async function zipDirectory(files: ReleaseFiles, f: SnapshotFile, L: PickleLimits) {
  const tailStart = Math.max(0, f.size - ZIP_TAIL_BYTES);
  let end = findZipEnd(await files.readRange(f.path, tailStart, f.size), tailStart);
  if (end.kind === 'zip64') {
    if (end.recordOffset + 56 > f.size) throw new Error('ZIP64 record outside the file');
    end = parseZip64End(await files.readRange(f.path, end.recordOffset, end.recordOffset + 56));
  }
  if (end.kind !== 'directory')
    throw new Error(end.kind === 'invalid' ? end.error : 'ZIP64 record points to another ZIP64 record');
  if (end.size > L.maxDirectoryBytes) throw new Error(`central directory of ${end.size} bytes is over the cap`);
  if (end.offset + end.size > f.size) throw new Error('central directory outside the file');
  return parseCentralDirectory(await files.readRange(f.path, end.offset, end.offset + end.size), 1_000_000);
}

/** Scans the `.pkl` entries of a ZIP archive (`<name>/data.pkl` in a torch archive), reading only their bytes. */
async function scanZip(files: ReleaseFiles, f: SnapshotFile, L: PickleLimits, out: PickleFileScan) {
  let entries;
  try {
    entries = await zipDirectory(files, f, L);
  } catch (e) {
    out.unscanned.push(`not a readable ZIP archive: ${(e as Error).message}`);
    return;
  }
  const pickles = entries.filter((e) => e.name.endsWith('.pkl'));
  if (pickles.length > L.maxEntries) out.unscanned.push(`${pickles.length - L.maxEntries} more .pkl entries`);
  for (const e of pickles.slice(0, L.maxEntries)) {
    if (e.compressedSize > L.maxStreamBytes || e.uncompressedSize > L.maxStreamBytes) {
      out.unscanned.push(`${e.name}: ${e.uncompressedSize} bytes, over the ${L.maxStreamBytes}-byte cap`);
      continue;
    }
    if (e.method !== 0 && e.method !== 8) {
      out.unscanned.push(`${e.name}: compression method ${e.method}`);
      continue;
    }
    const start = localDataOffset(
      await files.readRange(f.path, e.localHeaderOffset, Math.min(f.size, e.localHeaderOffset + 30)),
      e.localHeaderOffset,
    );
    if (start + e.compressedSize > f.size) {
      out.unscanned.push(`${e.name}: data runs past the end of the file`);
      continue;
    }
    const raw = await files.readRange(f.path, start, start + e.compressedSize);
    const data = e.method === 8 ? await inflateRaw(raw) : raw;
    for (const scan of scanPickles(data, 1).streams) out.streams.push({ entry: e.name, scan });
  }
}

/**
 * Scans one file with a pickle extension: a ZIP (torch.save since 1.6) through its `.pkl` entries, otherwise the
 * leading pickle streams (legacy torch files, plain pickles). Only pickle bytes are read, never tensor storage.
 * Throws when reading fails (the check then ends as `error`).
 */
export async function scanPickleFile(files: ReleaseFiles, f: SnapshotFile, L = PICKLE_LIMITS): Promise<PickleFileScan> {
  const out: PickleFileScan = { path: f.path, format: 'not-pickle', streams: [], unscanned: [] };
  const head = await files.readRange(f.path, 0, Math.min(f.size, 8));
  if (isZip(head)) {
    out.format = 'zip';
    await scanZip(files, f, L, out);
  } else if (looksLikePickle(head)) {
    out.format = 'pickle';
    await scanLeadingPickles(files, f, L, out);
    const first = out.streams[0]?.scan;
    if (first && first.error && first.globals.length === 0) {
      out.format = 'not-pickle';
      out.streams = [];
    }
  }
  return out;
}
