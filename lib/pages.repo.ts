/** SQL the status pages, badge and feed need beyond the release and check-run repos. */
import type { Verdict } from '../checks/types.ts';
import type { Pool, PoolClient } from './db.ts';
import type { ReleaseStatus } from './releases.repo.ts';

type Db = Pool | PoolClient;

/** One model on the index: its verdict, its most recently received release and the codes of its latest verdict. */
export interface IndexRow {
  repo: string;
  author: string;
  verdict: Verdict | null;
  latestSha: string | null;
  latestStatus: ReleaseStatus | null;
  latestVerdict: Verdict | null;
  receivedAt: Date | null;
  finishedAt: Date | null;
  codes: string[];
}

export interface IndexFilter {
  /** A verdict, or `pending` for models whose newest release is still being checked. */
  verdict?: Verdict | 'pending';
  author?: string;
  /** A substring of the repo id. */
  q?: string;
  limit: number;
  /** Private repos' models are listed only to callers with the API token. */
  includePrivate: boolean;
}

const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Models, the one with the most recent release first. */
export async function indexRows(db: Db, f: IndexFilter): Promise<IndexRow[]> {
  const r = await db.query(
    `SELECT m.repo, m.author, m.verdict, lr.sha, lr.status, lr.verdict AS release_verdict, lr.received_at, lr.finished_at,
       coalesce((SELECT array_agg(DISTINCT fi.code ORDER BY fi.code) FROM current_findings fi
                 WHERE fi.release_id = m.latest_release_id AND fi.mute_id IS NULL), '{}') AS codes
     FROM models m
     LEFT JOIN LATERAL (SELECT * FROM releases r WHERE r.model_id = m.id
                        ORDER BY r.received_at DESC, r.id DESC LIMIT 1) lr ON true
     WHERE ($1::text IS NULL OR m.author = $1) AND ($5::boolean OR NOT m.private)
       AND ($2::text IS NULL OR ($2 = 'pending' AND lr.status IN ('pending', 'checking')) OR m.verdict = $2)
       AND ($3::text IS NULL OR m.repo ILIKE '%' || $3 || '%')
     ORDER BY lr.received_at DESC NULLS LAST, m.repo LIMIT $4`,
    [f.author ?? null, f.verdict ?? null, f.q ? likeEscape(f.q) : null, f.limit, f.includePrivate],
  );
  return r.rows.map((x) => ({
    repo: x.repo,
    author: x.author,
    verdict: x.verdict,
    latestSha: x.sha ?? null,
    latestStatus: x.status ?? null,
    latestVerdict: x.release_verdict ?? null,
    receivedAt: x.received_at ?? null,
    finishedAt: x.finished_at ?? null,
    codes: x.codes,
  }));
}

/** Every author with a model (public ones unless `includePrivate`), for the index's filter. */
export async function listAuthors(db: Db, includePrivate: boolean): Promise<string[]> {
  const r = await db.query<{ author: string }>(
    'SELECT DISTINCT author FROM models WHERE $1::boolean OR NOT private ORDER BY author LIMIT 1000',
    [includePrivate],
  );
  return r.rows.map((x) => x.author);
}

/** What the compare view reads of a snapshot: its parsed config and tokenizer fingerprint. */
export interface SnapshotFacts {
  config: Record<string, unknown> | null;
  tokenizerFingerprint: string | null;
}

export async function snapshotFacts(db: Db, snapshotId: number): Promise<SnapshotFacts | null> {
  const r = await db.query('SELECT config, tokenizer_fingerprint FROM snapshots WHERE id = $1', [snapshotId]);
  return r.rows[0] ? { config: r.rows[0].config, tokenizerFingerprint: r.rows[0].tokenizer_fingerprint } : null;
}

/** A release whose verdict differs from the model's previous finished release (or is its first). */
export interface VerdictChange {
  repo: string;
  author: string;
  sha: string;
  verdict: Verdict;
  previous: Verdict | null;
  at: Date;
}

/** Verdict changes of public models, newest first; `author` narrows to one org. */
export async function verdictChanges(db: Db, f: { author?: string; limit: number }): Promise<VerdictChange[]> {
  const r = await db.query(
    `SELECT * FROM (
       SELECT r.repo, m.author, r.sha, r.verdict, r.finished_at,
              lag(r.verdict) OVER (PARTITION BY r.model_id ORDER BY r.received_at, r.id) AS previous
       FROM releases r JOIN models m ON m.id = r.model_id
       WHERE r.status IN ('done', 'failed') AND r.verdict IS NOT NULL AND NOT m.private
         AND ($1::text IS NULL OR m.author = $1)
     ) x WHERE previous IS DISTINCT FROM verdict
     ORDER BY finished_at DESC, repo LIMIT $2`,
    [f.author ?? null, f.limit],
  );
  return r.rows.map((x) => ({
    repo: x.repo,
    author: x.author,
    sha: x.sha,
    verdict: x.verdict,
    previous: x.previous,
    at: x.finished_at,
  }));
}
