/** SQL for searching findings across releases (the current check attempt of each release). */
import type { FindingCode, Severity } from '../checks/types.ts';
import type { Pool } from './db.ts';

export interface FindingFilter {
  code?: string;
  severity?: Severity;
  check?: string;
  /** Only findings stored at or after this time. */
  since?: Date;
  /** Id of the last finding of the previous page. */
  beforeId?: number;
  /** Findings of private repos too (the caller presented the API token). */
  includePrivate: boolean;
  limit: number;
}

export interface FoundFinding {
  id: number;
  repo: string;
  sha: string;
  code: FindingCode;
  severity: Severity;
  check: string;
  title: string;
  detail: string;
  files: string[];
  muteId: number | null;
  createdAt: Date;
}

/** Findings newest first (by id, which grows with time), filtered; evidence is left to the release endpoint. */
export async function searchFindings(pool: Pool, f: FindingFilter): Promise<FoundFinding[]> {
  const r = await pool.query<{
    id: string;
    repo: string;
    sha: string;
    code: FindingCode;
    severity: Severity;
    check_id: string;
    title: string;
    detail: string;
    files: string[];
    mute_id: string | null;
    created_at: Date;
  }>(
    `SELECT cf.id, cf.repo, r.sha, cf.code, cf.severity, cf.check_id, cf.title, cf.detail, cf.files, cf.mute_id,
            cf.created_at
     FROM current_findings cf JOIN releases r ON r.id = cf.release_id JOIN models m ON m.id = r.model_id
     WHERE ($1::text IS NULL OR cf.code = $1) AND ($2::text IS NULL OR cf.severity = $2)
       AND ($3::text IS NULL OR cf.check_id = $3) AND ($4::timestamptz IS NULL OR cf.created_at >= $4)
       AND ($5::bigint IS NULL OR cf.id < $5) AND ($6::boolean OR NOT m.private)
     ORDER BY cf.id DESC LIMIT $7`,
    [
      f.code ?? null,
      f.severity ?? null,
      f.check ?? null,
      f.since ?? null,
      f.beforeId ?? null,
      f.includePrivate,
      f.limit,
    ],
  );
  return r.rows.map((x) => ({
    id: Number(x.id),
    repo: x.repo,
    sha: x.sha,
    code: x.code,
    severity: x.severity,
    check: x.check_id,
    title: x.title,
    detail: x.detail,
    files: x.files,
    muteId: x.mute_id === null ? null : Number(x.mute_id),
    createdAt: x.created_at,
  }));
}
