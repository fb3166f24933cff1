import type { FindingInput, Snapshot } from '../types.ts';

/** The first line of a git-lfs pointer file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md). */
const POINTER_PREFIX = 'version https://git-lfs.github.com/spec/';
/**
 * The header length a safetensors reader takes from a pointer file: its first 8 bytes, "version ", as a
 * little-endian u64. A real header never starts with these bytes (the length is followed by '{').
 */
const POINTER_HEADER_LENGTH = [...'version ']
  .reduceRight((n, ch) => n * 256n + BigInt(ch.charCodeAt(0)), 0n)
  .toString();

/** Whether a text file of the snapshot is a git-lfs pointer instead of the file itself. */
export function isPointerText(text: string | undefined): boolean {
  return text !== undefined && text.startsWith(POINTER_PREFIX);
}

/** Whether a safetensors header error comes from reading a git-lfs pointer as safetensors. */
export function isPointerHeaderError(error: string | undefined): boolean {
  return error !== undefined && error.includes(`header length ${POINTER_HEADER_LENGTH} `);
}

/**
 * Files of a local folder that are git-lfs pointers (a `git clone` without git-lfs, a partial download): one info
 * finding, since the folder lacks the files rather than the release. On the Hub a pointer committed as a regular
 * file is a real defect and stays FILE_MALFORMED.
 */
export function pointerFinding(snap: Snapshot, paths: string[]): FindingInput[] {
  if (snap.origin !== 'local' || paths.length === 0) return [];
  return [
    {
      code: 'FILE_MALFORMED',
      severity: 'info',
      title: `${paths.length} file(s) are git-lfs pointers, not the files themselves: checks that need them were skipped`,
      detail: 'The folder was cloned or downloaded without git-lfs; fetch the LFS objects to check these files.',
      evidence: { pointers: paths.slice(0, 50), count: paths.length },
      files: paths.slice(0, 50),
    },
  ];
}

/** Whether a file problem is a git-lfs pointer in a local folder (reported once by pointerFinding instead). */
export function isLocalPointer(snap: Snapshot, path: string, error?: string): boolean {
  return snap.origin === 'local' && (isPointerText(snap.texts[path]) || isPointerHeaderError(error));
}
