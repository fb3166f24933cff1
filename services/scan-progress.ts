/** Progress of a scan on stderr: one redrawn line on a TTY (the check running, bytes read and rate), else nothing. */
import type { ByteSource } from '../lib/byte-source.ts';

const MB = 1024 * 1024;

export interface ScanProgress {
  /** A phase message from the scan (`running <check>`). */
  step(msg: string): void;
  /** Bytes read from the release's files since the last call. */
  bytes(n: number): void;
  /** Clears the line. */
  done(): void;
}

/** A progress line on `stream` when it is a TTY; a no-op otherwise (logs and pipes stay clean). */
export function scanProgress(stream: NodeJS.WriteStream, totalChecks: number): ScanProgress {
  if (!stream.isTTY) return { step() {}, bytes() {}, done() {} };
  const started = Date.now();
  let read = 0;
  let step = 'reading files';
  let n = 0;
  let last = 0;
  const draw = (force = false): void => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const secs = Math.max((now - started) / 1000, 0.001);
    const bytes = read ? ` · ${(read / MB).toFixed(1)} MB read · ${(read / MB / secs).toFixed(1)} MB/s` : '';
    const filled = Math.round((n / totalChecks) * 20);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}]`;
    // Bytes and rate before the step: a narrow terminal cuts the check's name, not the figures.
    const line = `${bar} ${n}/${totalChecks}${bytes} · ${step}`;
    stream.write(`\r\x1b[K${line.slice(0, Math.max(20, (stream.columns || 80) - 1))}`);
  };
  return {
    step(msg) {
      if (msg.startsWith('running ')) n++;
      step = msg;
      draw(true);
    },
    bytes(k) {
      read += k;
      draw();
    },
    done() {
      stream.write('\r\x1b[K');
    },
  };
}

/** The same byte source, reporting every byte it hands out (ranged reads and streams: the weights). */
export function countingSource(source: ByteSource, onBytes: (n: number) => void): ByteSource {
  return {
    label: source.label,
    listFiles: () => source.listFiles(),
    readText: (path) => source.readText(path),
    ...(source.skippedFiles ? { skippedFiles: () => source.skippedFiles!() } : {}),
    // Kept when the source has it, so weights are still read straight into the kernel's memory.
    ...(source.readRangeInto
      ? {
          async readRangeInto(path: string, start: number, into: Uint8Array) {
            await source.readRangeInto!(path, start, into);
            onBytes(into.byteLength);
          },
        }
      : {}),
    async readRange(path, start, end) {
      const b = await source.readRange(path, start, end);
      onBytes(b.byteLength);
      return b;
    },
    async *stream(path, start, end) {
      for await (const chunk of source.stream(path, start, end)) {
        onBytes(chunk.byteLength);
        yield chunk;
      }
    },
  };
}
