/**
 * A byte source is where a release's files come from: a local folder or a Hub revision (ranged HTTP reads).
 * Everything after the byte source (snapshot building, safetensors parsing, tensor streaming) is the same code.
 */
export interface SourceFile {
  path: string;
  size: number;
}

export interface ByteSource {
  /** Human-readable identity, e.g. `org/name@sha` or a folder path. */
  readonly label: string;
  /** Every file of the revision with its size, sorted by path. */
  listFiles(): Promise<SourceFile[]>;
  /** Reads bytes [start, end) of a file. Throws SourceError if the file is missing or the range is invalid. */
  readRange(path: string, start: number, end: number): Promise<Uint8Array>;
  /**
   * Reads bytes [start, start + into.byteLength) of a file into `into` (optional: a source that can fill a given
   * buffer, so a chunk lands in memory its consumer chose). Throws SourceError like readRange, also on a short read.
   */
  readRangeInto?(path: string, start: number, into: Uint8Array): Promise<void>;
  /** Reads a whole (small) file as UTF-8 text. */
  readText(path: string): Promise<string>;
  /** Streams bytes [start, end) of a file in pieces as they arrive. */
  stream(path: string, start: number, end: number): AsyncIterable<Uint8Array>;
  /** Entries that were not listed as files and why (symlinks out of a local folder, sockets); after listFiles(). */
  skippedFiles?(): { path: string; reason: string }[];
}

/** An I/O failure reading from a byte source (missing file, short read, HTTP error). */
export class SourceError extends Error {
  /** HTTP status when the source answered with an error (404: repo, revision or file missing). */
  status?: number;
  constructor(
    message: string,
    readonly path?: string,
    status?: number,
  ) {
    super(message);
    if (status !== undefined) this.status = status;
    this.name = 'SourceError';
  }
}
