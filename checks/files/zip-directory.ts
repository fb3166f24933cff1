/**
 * The parts of the ZIP format (PKWARE APPNOTE.TXT §4.3) needed to find the pickle inside a PyTorch archive
 * (`torch.save` writes a zip since torch 1.6: `<name>/data.pkl`, `<name>/data/0`, …) by ranged reads: the end of
 * central directory record (and its ZIP64 form, used by archives over 4 GB), the central directory, local headers.
 */

export interface ZipEntry {
  name: string;
  /** 0: stored, 8: deflated. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export type ZipEnd =
  | { kind: 'directory'; offset: number; size: number; entries: number }
  | { kind: 'zip64'; recordOffset: number }
  | { kind: 'invalid'; error: string };

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** How many bytes at the end of a file hold the end records: EOCD (22) + comment (≤ 65535) + ZIP64 locator (20). */
export const ZIP_TAIL_BYTES = 22 + 65_535 + 20;

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
const u64 = (d: DataView, at: number): number => Number(d.getBigUint64(at, true));

/** Whether bytes start like a ZIP file (a local file header). */
export function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && view(head).getUint32(0, true) === LOCAL;
}

/** Finds the end of central directory in the last bytes of a file (`tail` starts at file offset `tailStart`). */
export function findZipEnd(tail: Uint8Array, tailStart: number): ZipEnd {
  const d = view(tail);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (d.getUint32(i, true) !== EOCD) continue;
    const entries = d.getUint16(i + 10, true);
    const size = d.getUint32(i + 12, true);
    const offset = d.getUint32(i + 16, true);
    if (offset === 0xffffffff || size === 0xffffffff || entries === 0xffff) {
      if (i < 20 || d.getUint32(i - 20, true) !== ZIP64_LOCATOR)
        return { kind: 'invalid', error: 'ZIP64 fields without a ZIP64 locator' };
      return { kind: 'zip64', recordOffset: u64(d, i - 20 + 8) };
    }
    if (tailStart + i < offset + size) return { kind: 'invalid', error: 'central directory runs past its end record' };
    return { kind: 'directory', offset, size, entries };
  }
  return { kind: 'invalid', error: 'no end of central directory record' };
}

/** Reads a ZIP64 end of central directory record (56 bytes at the offset the locator gave). */
export function parseZip64End(record: Uint8Array): ZipEnd {
  if (record.length < 56 || view(record).getUint32(0, true) !== ZIP64_EOCD)
    return { kind: 'invalid', error: 'no ZIP64 end of central directory record where the locator points' };
  const d = view(record);
  return { kind: 'directory', entries: u64(d, 32), size: u64(d, 40), offset: u64(d, 48) };
}

/** ZIP64 extended information (extra field 0x0001): 64-bit values for the fields that hold 0xFFFFFFFF. */
function applyZip64Extra(e: ZipEntry, extra: DataView): void {
  for (let at = 0; at + 4 <= extra.byteLength;) {
    const id = extra.getUint16(at, true);
    const len = extra.getUint16(at + 2, true);
    if (id === 0x0001) {
      let p = at + 4;
      const next = (): number => {
        const v = p + 8 <= at + 4 + len ? u64(extra, p) : NaN;
        p += 8;
        return v;
      };
      if (e.uncompressedSize === 0xffffffff) e.uncompressedSize = next();
      if (e.compressedSize === 0xffffffff) e.compressedSize = next();
      if (e.localHeaderOffset === 0xffffffff) e.localHeaderOffset = next();
    }
    at += 4 + len;
  }
}

/** Parses a central directory. Throws Error when a record is not where it should be. */
export function parseCentralDirectory(b: Uint8Array, maxEntries: number): ZipEntry[] {
  const d = view(b);
  const out: ZipEntry[] = [];
  const names = new TextDecoder('utf-8');
  for (let at = 0; at + 46 <= b.length && out.length < maxEntries;) {
    if (d.getUint32(at, true) !== CENTRAL) throw new Error(`no central directory record at +${at}`);
    const nameLen = d.getUint16(at + 28, true);
    const extraLen = d.getUint16(at + 30, true);
    const commentLen = d.getUint16(at + 32, true);
    if (at + 46 + nameLen + extraLen > b.length) throw new Error('central directory record runs past its end');
    const e: ZipEntry = {
      name: names.decode(b.subarray(at + 46, at + 46 + nameLen)),
      method: d.getUint16(at + 10, true),
      compressedSize: d.getUint32(at + 20, true),
      uncompressedSize: d.getUint32(at + 24, true),
      localHeaderOffset: d.getUint32(at + 42, true),
    };
    applyZip64Extra(e, new DataView(b.buffer, b.byteOffset + at + 46 + nameLen, extraLen));
    out.push(e);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Where an entry's data starts, from its local header (30 bytes, then name and extra field). */
export function localDataOffset(header: Uint8Array, headerOffset: number): number {
  const d = view(header);
  if (header.length < 30 || d.getUint32(0, true) !== LOCAL) throw new Error(`no local file header at ${headerOffset}`);
  return headerOffset + 30 + d.getUint16(26, true) + d.getUint16(28, true);
}
