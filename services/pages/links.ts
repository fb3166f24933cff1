/** Paths of the pages and links to the Hub, built in one place. */

const enc = (repo: string): string => repo.split('/').map(encodeURIComponent).join('/');
const trim = (u: string): string => u.replace(/\/+$/, '');

export const modelPath = (repo: string): string => `/models/${enc(repo)}`;
export const releasePath = (repo: string, sha: string): string =>
  `${modelPath(repo)}/releases/${encodeURIComponent(sha)}`;
export const comparePath = (repo: string, sha: string): string => `${releasePath(repo, sha)}/compare`;
export const badgePath = (repo: string): string => `${modelPath(repo)}/badge.svg`;
export const hubRepoUrl = (hubUrl: string, repo: string): string => `${trim(hubUrl)}/${enc(repo)}`;
export const hubCommitUrl = (hubUrl: string, repo: string, sha: string): string =>
  `${hubRepoUrl(hubUrl, repo)}/commit/${encodeURIComponent(sha)}`;

/** A shortened sha for display (full shas stay in links and titles). */
export const shortSha = (sha: string): string => sha.slice(0, 10);

/** A UTC time as people read it: `2026-12-01 04:43 UTC`. */
export function utc(d: Date | null): string {
  return d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—';
}
