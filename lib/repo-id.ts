/**
 * The one rule for Hub repo ids `owner/name`: each part starts with a letter or digit, then letters, digits, `_`,
 * `.`, `-` (≤ 96 characters). The API's TypeBox schemas, the webhook parser, the release worker and the CLI all
 * build on these patterns.
 */

/** One part of a repo id (an owner or a name), without anchors. */
export const REPO_PART_SOURCE = '[A-Za-z0-9][A-Za-z0-9._-]{0,95}';
/** A revision: a branch, tag or commit sha, without anchors. */
export const REVISION_SOURCE = '[A-Za-z0-9._/-]{1,200}';

/** Anchored pattern strings, for JSON Schema `pattern`. */
export const REPO_PART_PATTERN = `^${REPO_PART_SOURCE}$`;
export const REPO_ID_PATTERN = `^${REPO_PART_SOURCE}/${REPO_PART_SOURCE}$`;
export const REVISION_PATTERN = `^${REVISION_SOURCE}$`;

export const REPO_ID_RE = new RegExp(REPO_ID_PATTERN);
const REPO_PART_RE = new RegExp(REPO_PART_PATTERN);

/** Whether `s` is a well-formed repo id `owner/name`. */
export function isRepoId(s: string): boolean {
  return REPO_ID_RE.test(s);
}

/** Whether `s` is a well-formed owner (or name) part. */
export function isRepoPart(s: string): boolean {
  return REPO_PART_RE.test(s);
}

/** Splits `owner/name[@revision]` (the CLI's target syntax); null when it is not one. */
export function parseRepoRef(s: string): { repo: string; revision: string | null } | null {
  const m = new RegExp(`^(${REPO_PART_SOURCE}/${REPO_PART_SOURCE})(?:@(${REVISION_SOURCE}))?$`).exec(s);
  return m ? { repo: m[1], revision: m[2] ?? null } : null;
}
