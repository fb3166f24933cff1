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

/** The page size the API asks for by default (50 and one more to know whether a next page exists). */
export const DEFAULT_SEARCH_LIMIT = 51;

/**
 * The search's SQL and parameters with only the filters that are set: each combination is a plain query whose plan
 * fits it (a placeholder `$n IS NULL OR …` per filter, and `$n OR NOT m.private`, kept Postgres from reusing a
 * plan: it planned the join again on every request). Models are joined only to leave private ones out; the view
 * carries the release's sha and model (migration 0008), so releases are not joined a second time.
 */
function searchQuery(f: FindingFilter): { key: string; text: string; values: unknown[] } {
  const values: unknown[] = [];
  const where: string[] = [];
  const keys: string[] = [f.includePrivate ? 'all' : 'public'];
  const add = (key: string, cond: (n: string) => string, v: unknown): void => {
    values.push(v);
    where.push(cond(`$${values.length}`));
    keys.push(key);
  };
  if (!f.includePrivate) where.push('NOT m.private');
  if (f.code !== undefined) add('code', (n) => `cf.code = ${n}::text`, f.code);
  if (f.severity !== undefined) add('severity', (n) => `cf.severity = ${n}::text`, f.severity);
  if (f.check !== undefined) add('check', (n) => `cf.check_id = ${n}::text`, f.check);
  if (f.since !== undefined) add('since', (n) => `cf.created_at >= ${n}::timestamptz`, f.since);
  if (f.beforeId !== undefined) add('before', (n) => `cf.id < ${n}::bigint`, f.beforeId);
  if (!Number.isSafeInteger(f.limit) || f.limit < 1)
    throw new RangeError(`limit must be a positive integer: ${f.limit}`);
  const text = `SELECT cf.id, cf.repo, cf.sha, cf.code, cf.severity, cf.check_id, cf.title, cf.detail, cf.files,
            cf.mute_id, cf.created_at
     FROM current_findings cf
     ${f.includePrivate ? '' : 'JOIN models m ON m.id = cf.model_id'}
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY cf.id DESC LIMIT ${f.limit}`;
  return { key: keys.join('-'), text, values };
}

/**
 * Findings newest first (by id, which grows with time), filtered; evidence is left to the release endpoint.
 * At the default page size the query is a named statement, prepared once per connection. Without a filter value it
 * has no parameter, and Postgres plans it once. With one, Postgres keeps planning it for each request when the plan
 * made for the value looks cheaper than a generic one (a rare code or check: its composite index, not the newest-first
 * primary key scan a generic plan picks, which reads every finding for a check with none); that planning (1.4 ms for
 * a check filter on the benchmark database) is the cost of a plan that fits the value. The limit is in the text so
 * the plans are made for it; other page sizes are planned each time rather than filling every connection with one
 * prepared statement per limit.
 */
export async function searchFindings(pool: Pool, f: FindingFilter): Promise<FoundFinding[]> {
  const q = searchQuery(f);
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
  }>(f.limit === DEFAULT_SEARCH_LIMIT ? { name: `findings-search-${q.key}`, text: q.text, values: q.values } : q);
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
