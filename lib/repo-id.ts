/** A Hub repo id `owner/name`: each part starts with a letter or digit, then letters, digits, `_`, `.`, `-` (≤ 96). */
export const REPO_ID_RE = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;

export function isRepoId(s: string): boolean {
  return REPO_ID_RE.test(s);
}
