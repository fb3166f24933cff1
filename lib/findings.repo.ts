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

/** A filter value written into the statement's text: the API lets only catalog codes, check ids and severities in. */
const LITERAL = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The search's SQL and parameters with only the filters that are set: each combination is a plain query whose plan
 * fits it (a placeholder `$n IS NULL OR …` per filter, and `$n OR NOT m.private`, kept Postgres from reusing a
 * plan: it planned the join again on every request). Models are joined only to leave private ones out; the view
 * carries the release's sha and model (migration 0008) and each finding its attempt (0011), so neither releases a
 * second time nor check runs are joined.
 *
 * Newest first is by (created_at, id) (migration 0012): with a code or a check, the filter, a `since` and a cursor
 * are all conditions on one index range (code or check_id, created_at, id), read in order until a page is full, so
 * one plan fits every value. Postgres makes a generic plan of a named statement after five runs and uses it for every
 * value when it looks no dearer than planning each time: it did so for the `since` search, whose plan then walked a
 * code's findings by id for a one-day `since` (35-62 ms for 10 of the benchmark's 2,000 requests) while the other
 * requests took about 1 ms. A cursor names its page's last finding by id; the statement looks up that finding's
 * created_at (or, if it is gone, the next older one's) and continues below (created_at, id).
 *
 * Without a `since` or a cursor, a code, check or severity goes into the text as a literal, so the statement is
 * planned once for that value (a severity has no index of its own: the newest-first walk of findings_created_idx
 * suits its three common values).
 */
export function searchQuery(f: FindingFilter): { key: string; text: string; values: unknown[] } {
  const values: unknown[] = [];
  const where: string[] = [];
  const keys: string[] = [f.includePrivate ? 'all' : 'public'];
  const add = (key: string, cond: (n: string) => string, v: unknown): void => {
    values.push(v);
    where.push(cond(`$${values.length}`));
    keys.push(key);
  };
  const literals = f.since === undefined && f.beforeId === undefined;
  const value = (key: string, column: string, v: string): void => {
    if (!literals || !LITERAL.test(v)) return add(key, (n) => `${column} = ${n}::text`, v);
    where.push(`${column} = '${v}'`);
    keys.push(`${key}=${v}`);
  };
  if (!f.includePrivate) where.push('NOT m.private');
  if (f.code !== undefined) value('code', 'cf.code', f.code);
  if (f.severity !== undefined) value('severity', 'cf.severity', f.severity);
  if (f.check !== undefined) value('check', 'cf.check_id', f.check);
  if (f.since !== undefined) add('since', (n) => `cf.created_at >= ${n}::timestamptz`, f.since);
  if (f.beforeId !== undefined)
    add(
      'before',
      (n) =>
        `(cf.created_at, cf.id) < ((SELECT created_at FROM findings WHERE id <= ${n}::bigint ORDER BY id DESC LIMIT 1), ${n}::bigint)`,
      f.beforeId,
    );
  if (!Number.isSafeInteger(f.limit) || f.limit < 1)
    throw new RangeError(`limit must be a positive integer: ${f.limit}`);
  const text = `SELECT cf.id, cf.repo, cf.sha, cf.code, cf.severity, cf.check_id, cf.title, cf.detail, cf.files,
            cf.mute_id, cf.created_at
     FROM current_findings cf
     ${f.includePrivate ? '' : 'JOIN models m ON m.id = cf.model_id'}
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY cf.created_at DESC, cf.id DESC LIMIT ${f.limit}`;
  return { key: keys.join('-'), text, values };
}

/** Statement names by search key (a key can be longer than the 63 bytes Postgres keeps of a name). */
const statementNames = new Map<string, string>();
/**
 * Named search statements a process prepares at most (each connection keeps each one it ran: about 80 kB of parsed
 * query and 64 kB of plan in Postgres 15's memory contexts). The catalog's codes, checks and severities, with and
 * without the token, take about 210.
 */
export const MAX_SEARCH_STATEMENTS = 256;

/**
 * Findings newest first (by created_at, then id), filtered; evidence is left to the release endpoint.
 * At the default page size the query is a named statement, prepared once per connection (searchQuery says which
 * values it is planned for). The limit is in the text so the plans are made for it; other page sizes are planned
 * each time rather than filling every connection with one prepared statement per limit.
 */
export async function searchFindings(pool: Pool, f: FindingFilter): Promise<FoundFinding[]> {
  const q = searchQuery(f);
  let name: string | undefined;
  if (f.limit === DEFAULT_SEARCH_LIMIT) {
    name = statementNames.get(q.key);
    if (name === undefined && statementNames.size < MAX_SEARCH_STATEMENTS) {
      name = `findings-search-${statementNames.size}`;
      statementNames.set(q.key, name);
    }
  }
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
  }>(name ? { name, text: q.text, values: q.values } : q);
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
