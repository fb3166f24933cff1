/**
 * A file path inside a repo as the Hub lists it: relative, `/`-separated, no empty, `.` or `..` segment, no
 * backslash, colon or control character. Anything else (`../../x`, `/etc/passwd`, `https://evil/x`) could
 * address another repo or host once put in a URL, so it is never read.
 */
export function isSafeRepoPath(path: string): boolean {
  if (path.length === 0 || path.length > 1024) return false;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\\:\u0000-\u001f\u007f]/.test(path) || path.startsWith('/')) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
