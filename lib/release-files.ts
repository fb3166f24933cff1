import type { ReleaseFiles } from '../checks/types.ts';
import type { ByteSource } from './byte-source.ts';
import { SourceError } from './byte-source.ts';

export interface ReleaseFilesLimits {
  /** Largest single read (bytes). */
  maxReadBytes: number;
  /** Bytes one reader may read in all (one reader per check run). */
  maxTotalBytes: number;
}

export const RELEASE_FILES_LIMITS: ReleaseFilesLimits = { maxReadBytes: 64 << 20, maxTotalBytes: 512 << 20 };

/**
 * The checks' ranged reader over a release's byte source (a Hub revision or a local folder): each read bounded,
 * and the reader as a whole, so a hostile file cannot make a check pull gigabytes. Throws SourceError past a bound.
 */
export function createReleaseFiles(
  source: ByteSource,
  limits: ReleaseFilesLimits = RELEASE_FILES_LIMITS,
): ReleaseFiles {
  let total = 0;
  return {
    async readRange(path, start, end) {
      const n = end - start;
      if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && n >= 0))
        throw new SourceError(`invalid range ${start}-${end} of ${path}`, path);
      if (n > limits.maxReadBytes)
        throw new SourceError(`read of ${n} bytes of ${path} is over the ${limits.maxReadBytes}-byte bound`, path);
      if (total + n > limits.maxTotalBytes)
        throw new SourceError(`reading ${path} would pass the ${limits.maxTotalBytes}-byte budget of this check`, path);
      total += n;
      // Copied: byte sources may hand out pooled buffers that are reused after the next read.
      return Uint8Array.from(await source.readRange(path, start, end));
    },
  };
}
