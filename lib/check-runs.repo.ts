/** SQL for check runs and findings. */
import type { CheckQueue, CheckRunResult, CheckStatus, Finding, Severity } from '../checks/types.ts';
import type { Pool, PoolClient } from './db.ts';
import { splitLargeEvidence } from './release-evidence.ts';
import { storeReleaseEvidence } from './release-evidence.repo.ts';

type Db = Pool | PoolClient;

export interface CheckRun {
  id: number;
  releaseId: number;
  /** The release's check attempt this run belongs to (a recheck starts a new one; earlier runs are kept). */
  attempt: number;
  checkId: string;
  queue: CheckQueue;
  status: 'queued' | 'running' | CheckStatus;
  reason: string | null;
  error: string | null;
  durationMs: number | null;
  attempts: number;
  finishedAt: Date | null;
}

export interface StoredFinding extends Finding {
  id: number;
  releaseId: number;
  /** The active mute silencing this finding (excluded from verdicts and alerts), or null. */
  muteId: number | null;
}

export interface RunRow {
  id: string;
  release_id: string;
  attempt: number;
  check_id: string;
  queue: CheckQueue;
  status: CheckRun['status'];
  reason: string | null;
  error: string | null;
  duration_ms: number | null;
  attempts: number;
  finished_at: Date | null;
}

export const RUN_COLUMNS =
  'id, release_id, attempt, check_id, queue, status, reason, error, duration_ms, attempts, finished_at';

export const toRun = (r: RunRow): CheckRun => ({
  id: Number(r.id),
  releaseId: Number(r.release_id),
  attempt: r.attempt,
  checkId: r.check_id,
  queue: r.queue,
  status: r.status,
  reason: r.reason,
  error: r.error,
  durationMs: r.duration_ms,
  attempts: r.attempts,
  finishedAt: r.finished_at,
});

/** Creates one queued check run per check for the release's current attempt (idempotent); returns its unfinished runs. */
export async function createCheckRuns(
  db: Db,
  releaseId: number,
  checks: { id: string; queue: CheckQueue }[],
): Promise<CheckRun[]> {
  if (checks.length) {
    await db.query(
      `INSERT INTO check_runs (release_id, attempt, check_id, queue)
       SELECT $1, r.check_attempt, c.id, c.queue FROM releases r, unnest($2::text[], $3::text[]) AS c(id, queue)
       WHERE r.id = $1
       ON CONFLICT (release_id, attempt, check_id) DO NOTHING`,
      [releaseId, checks.map((c) => c.id), checks.map((c) => c.queue)],
    );
  }
  const r = await db.query<RunRow>(
    `SELECT * FROM check_runs WHERE release_id = $1 AND status IN ('queued', 'running')
       AND attempt = (SELECT check_attempt FROM releases WHERE id = $1) ORDER BY id`,
    [releaseId],
  );
  return r.rows.map(toRun);
}

export async function getCheckRun(db: Db, id: number): Promise<CheckRun | null> {
  const r = await db.query<RunRow>('SELECT * FROM check_runs WHERE id = $1', [id]);
  return r.rows[0] ? toRun(r.rows[0]) : null;
}

export async function markRunning(db: Db, id: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE check_runs SET status = 'running', attempts = attempts + 1, started_at = now() WHERE id = $1 AND status IN ('queued', 'running')`,
    [id],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * Stores a check run's outcome and findings; part of the caller's transaction. Returns false (and stores nothing)
 * when the run had already finished, so a duplicate job never doubles the findings.
 */
export async function storeResult(c: PoolClient, run: CheckRun, result: CheckRunResult): Promise<boolean> {
  const u = await c.query(
    `UPDATE check_runs SET status = $2, reason = $3, error = $4, duration_ms = $5, finished_at = now()
     WHERE id = $1 AND status IN ('queued', 'running')`,
    [run.id, result.status, result.reason ?? null, result.error ?? null, result.durationMs],
  );
  if ((u.rowCount ?? 0) === 0) return false;
  const { findings, stored } = splitLargeEvidence(result.findings);
  // A check that passed with evidence keeps it under its own id as the kind.
  if (result.evidence) stored.push({ kind: result.check, data: result.evidence });
  await storeReleaseEvidence(c, run.releaseId, stored);
  for (const f of findings) {
    await c.query(
      `INSERT INTO findings (check_run_id, release_id, code, severity, check_id, title, detail, evidence, files)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [run.id, run.releaseId, f.code, f.severity, f.check, f.title, f.detail, JSON.stringify(f.evidence), f.files],
    );
  }
  return true;
}

/** Status counts and unmuted finding severities of a release's current attempt, for its verdict. */
export async function releaseOutcome(
  db: Db,
  releaseId: number,
): Promise<{ open: number; errors: number; severities: Severity[] }> {
  const r = await db.query<{ open: string; errors: string }>(
    `SELECT count(*) FILTER (WHERE status IN ('queued', 'running')) AS open, count(*) FILTER (WHERE status = 'error') AS errors
     FROM check_runs WHERE release_id = $1 AND attempt = (SELECT check_attempt FROM releases WHERE id = $1)`,
    [releaseId],
  );
  const s = await db.query<{ severity: Severity }>(
    'SELECT DISTINCT severity FROM current_findings WHERE release_id = $1 AND mute_id IS NULL',
    [releaseId],
  );
  return { open: Number(r.rows[0].open), errors: Number(r.rows[0].errors), severities: s.rows.map((x) => x.severity) };
}

/** The check runs of a release's current attempt. */
export async function listCheckRuns(db: Db, releaseId: number): Promise<CheckRun[]> {
  // Named statements with listed columns (as in releases.repo.ts): planned once per connection, and a migration
  // adding a column does not break a prepared `*`.
  const r = await db.query<RunRow>({
    name: 'check-runs-of-release',
    text: `SELECT ${RUN_COLUMNS} FROM check_runs
           WHERE release_id = $1 AND attempt = (SELECT check_attempt FROM releases WHERE id = $1) ORDER BY id`,
    values: [releaseId],
  });
  return r.rows.map(toRun);
}

/** A row of current_findings as the reads select it (FINDING_COLUMNS). */
export interface FindingRow {
  id: string;
  release_id: string;
  code: Finding['code'];
  severity: Severity;
  check_id: string;
  title: string;
  detail: string;
  evidence: Record<string, unknown>;
  files: string[];
  mute_id: string | null;
}

export const FINDING_COLUMNS = 'id, release_id, code, severity, check_id, title, detail, evidence, files, mute_id';
/** The order findings are shown in: critical first, then warning, then info; by id within a severity. */
export const FINDING_ORDER = `CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, id`;

export const toStoredFinding = (x: FindingRow): StoredFinding => ({
  id: Number(x.id),
  releaseId: Number(x.release_id),
  code: x.code,
  severity: x.severity,
  check: x.check_id,
  title: x.title,
  detail: x.detail,
  evidence: x.evidence,
  files: x.files,
  muteId: x.mute_id === null ? null : Number(x.mute_id),
});

/** The findings of a release's current attempt, critical first, each with the mute silencing it (if any). */
export async function listFindings(db: Db, releaseId: number): Promise<StoredFinding[]> {
  const r = await db.query<FindingRow>({
    name: 'findings-of-release',
    text: `SELECT ${FINDING_COLUMNS} FROM current_findings WHERE release_id = $1 ORDER BY ${FINDING_ORDER}`,
    values: [releaseId],
  });
  return r.rows.map(toStoredFinding);
}

/** An unfinished check run the reconciler looks at, with its re-enqueue count. */
export interface StaleCheckRun extends CheckRun {
  requeues: number;
}

/**
 * Unfinished check runs of releases being checked, untouched for `olderThanMs`: not (re-)enqueued nor started
 * since (ages in Postgres). With `id`, only that run.
 */
export async function staleCheckRuns(
  db: Db,
  olderThanMs: number,
  opts: { id?: number; limit?: number } = {},
): Promise<StaleCheckRun[]> {
  const r = await db.query<RunRow & { requeues: number }>(
    `SELECT cr.* FROM check_runs cr JOIN releases r ON r.id = cr.release_id
     WHERE r.status = 'checking' AND cr.status IN ('queued', 'running')
       AND greatest(cr.enqueued_at, cr.started_at) < now() - ($1::int * interval '1 millisecond')
       AND ($2::bigint IS NULL OR cr.id = $2)
     ORDER BY cr.id LIMIT $3`,
    [olderThanMs, opts.id ?? null, opts.limit ?? 2000],
  );
  return r.rows.map((x) => ({ ...toRun(x), requeues: x.requeues }));
}

/** Claims one re-enqueue of a check run's job (see claimReleaseRequeue): exactly one of racing reconcilers wins. */
export async function claimCheckRunRequeue(
  db: Db,
  id: number,
  seen: number,
  minAgeMs: number,
  before: Date | null = null,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE check_runs SET requeues = requeues + 1, enqueued_at = now()
     WHERE id = $1 AND requeues = $2 AND status IN ('queued', 'running')
       AND greatest(enqueued_at, started_at) < coalesce($4::timestamptz, now() - ($3::int * interval '1 millisecond'))`,
    [id, seen, minAgeMs, before],
  );
  return (r.rowCount ?? 0) > 0;
}
