/** SQL for models, releases and webhook deliveries. Rows become domain objects here and nowhere else. */
import { verdictOf } from '../checks/run-check.ts';
import type { Verdict } from '../checks/types.ts';
import type { Pool, PoolClient } from './db.ts';

type Db = Pool | PoolClient;

export type ReleaseStatus = 'pending' | 'checking' | 'done' | 'failed';
export type ReleaseSource = 'webhook' | 'poller' | 'manual';

export interface Release {
  id: number;
  modelId: number;
  repo: string;
  sha: string;
  source: ReleaseSource;
  receivedAt: Date;
  status: ReleaseStatus;
  verdict: Verdict | null;
  error: string | null;
  snapshotId: number | null;
  previousReleaseId: number | null;
  baseSnapshotId: number | null;
  finishedAt: Date | null;
  /** The current check attempt (1, then one more per recheck); its check runs decide the verdict. */
  checkAttempt: number;
}

export interface Model {
  id: number;
  repo: string;
  author: string;
  verdict: Verdict | null;
  latestReleaseId: number | null;
  /** The repo is private on the Hub (as of the last model info read): its releases are read with the API token. */
  private: boolean;
  updatedAt: Date;
}

export interface ReleaseRow {
  id: string;
  model_id: string;
  repo: string;
  sha: string;
  source: ReleaseSource;
  received_at: Date;
  status: ReleaseStatus;
  verdict: Verdict | null;
  error: string | null;
  snapshot_id: string | null;
  previous_release_id: string | null;
  base_snapshot_id: string | null;
  finished_at: Date | null;
  check_attempt: number;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

/*
 * The read queries of the API's model and release routes run as named statements: Postgres parses and plans each once
 * per connection (then reuses a generic plan) instead of on every request. One fixed text per name (node-postgres
 * keys a prepared statement by its name alone). The columns are listed, not `*`: a prepared `SELECT *` fails with
 * "cached plan must not change result type" once a migration adds a column under a long-lived connection.
 */
export const RELEASE_COLUMNS =
  'id, model_id, repo, sha, source, received_at, status, verdict, error, snapshot_id, previous_release_id, base_snapshot_id, finished_at, check_attempt';
export const MODEL_COLUMNS = 'id, repo, author, verdict, latest_release_id, private, updated_at';

export function toRelease(r: ReleaseRow): Release {
  return {
    id: Number(r.id),
    modelId: Number(r.model_id),
    repo: r.repo,
    sha: r.sha,
    source: r.source,
    receivedAt: r.received_at,
    status: r.status,
    verdict: r.verdict,
    error: r.error,
    snapshotId: num(r.snapshot_id),
    previousReleaseId: num(r.previous_release_id),
    baseSnapshotId: num(r.base_snapshot_id),
    finishedAt: r.finished_at,
    checkAttempt: r.check_attempt,
  };
}

export interface ModelRow {
  id: string;
  repo: string;
  author: string;
  verdict: Verdict | null;
  latest_release_id: string | null;
  private: boolean;
  updated_at: Date;
}

export function toModel(r: ModelRow): Model {
  return {
    id: Number(r.id),
    repo: r.repo,
    author: r.author,
    verdict: r.verdict,
    latestReleaseId: num(r.latest_release_id),
    private: r.private,
    updatedAt: r.updated_at,
  };
}

/** Inserts the release for (repo, sha) unless it exists. Returns it and whether it was created now. */
export async function upsertRelease(
  db: Db,
  repo: string,
  sha: string,
  source: ReleaseSource,
): Promise<{ release: Release; created: boolean }> {
  const author = repo.split('/')[0];
  const m = await db.query<{ id: string }>(
    `INSERT INTO models (repo, author) VALUES ($1, $2)
     ON CONFLICT (repo) DO UPDATE SET updated_at = models.updated_at RETURNING id`,
    [repo, author],
  );
  const ins = await db.query<ReleaseRow>(
    `INSERT INTO releases (model_id, repo, sha, source) VALUES ($1, $2, $3, $4)
     ON CONFLICT (repo, sha) DO NOTHING RETURNING *`,
    [m.rows[0].id, repo, sha, source],
  );
  if (ins.rows[0]) return { release: toRelease(ins.rows[0]), created: true };
  const existing = await db.query<ReleaseRow>('SELECT * FROM releases WHERE repo = $1 AND sha = $2', [repo, sha]);
  return { release: toRelease(existing.rows[0]), created: false };
}

export interface DeliveryInput {
  scope: string | null;
  action: string | null;
  repo: string | null;
  sha: string | null;
  webhookId: string | null;
  payload: unknown;
  outcome: 'release' | 'duplicate' | 'ignored';
  reason: string | null;
  releaseId: number | null;
}

export async function getRelease(db: Db, id: number): Promise<Release | null> {
  const r = await db.query<ReleaseRow>({
    name: 'release-by-id',
    text: `SELECT ${RELEASE_COLUMNS} FROM releases WHERE id = $1`,
    values: [id],
  });
  return r.rows[0] ? toRelease(r.rows[0]) : null;
}

/** SQL condition on releases: of `repo`, with sha `sha` or a prefix of it of 7 characters or more (SQL of each). */
export const repoShaMatch = (repo: string, sha: string): string =>
  `repo = ${repo} AND (sha = ${sha} OR (length(${sha}) >= 7 AND sha LIKE ${sha} || '%'))`;

export async function findRelease(db: Db, repo: string, sha: string): Promise<Release | null> {
  const r = await db.query<ReleaseRow>({
    name: 'release-by-repo-sha',
    text: `SELECT ${RELEASE_COLUMNS} FROM releases WHERE ${repoShaMatch('$1', '$2')} ORDER BY id LIMIT 1`,
    values: [repo, sha],
  });
  return r.rows[0] ? toRelease(r.rows[0]) : null;
}

/**
 * SQL after `FROM releases` for previousCheckedRelease's rule, given the SQL of a release's model id, id and
 * received_at (parameters, or a row's columns where another statement reads it).
 */
export const previousCheckedOf = (r: { modelId: string; id: string; receivedAt: string }): string =>
  `WHERE model_id = ${r.modelId} AND id <> ${r.id} AND status IN ('checking', 'done') AND snapshot_id IS NOT NULL
     AND (received_at, id) < (${r.receivedAt}, ${r.id}) ORDER BY received_at DESC, id DESC LIMIT 1`;

/**
 * The revision of the same repo pushed before this one whose snapshot is stored (what a release is compared
 * against), in push order: received_at, then id. Its checks may still be running: two pushes seconds apart must
 * still compare the second with the first (CONFIG_CHANGED).
 */
export async function previousCheckedRelease(db: Db, release: Release): Promise<Release | null> {
  const r = await db.query<ReleaseRow>({
    name: 'release-previous-checked',
    text: `SELECT ${RELEASE_COLUMNS} FROM releases ${previousCheckedOf({ modelId: '$1', id: '$2', receivedAt: '$3' })}`,
    values: [release.modelId, release.id, release.receivedAt],
  });
  return r.rows[0] ? toRelease(r.rows[0]) : null;
}

export async function markChecking(
  db: Db,
  id: number,
  snapshotId: number,
  previousReleaseId: number | null,
  baseSnapshotId: number | null,
): Promise<void> {
  await db.query(
    `UPDATE releases SET status = 'checking', snapshot_id = $2, previous_release_id = $3, base_snapshot_id = $4,
       attempts = attempts + 1, updated_at = now() WHERE id = $1 AND status IN ('pending', 'checking')`,
    [id, snapshotId, previousReleaseId, baseSnapshotId],
  );
}

/** Marks a release failed (its snapshot could not be built): no check could run, so verdictOf says `error`. */
export async function markFailed(db: Db, id: number, error: string): Promise<void> {
  await db.query(
    `UPDATE releases SET status = 'failed', verdict = $3, error = $2, finding_counts = ${findingCountsOf('$1')},
       finished_at = now(), updated_at = now()
     WHERE id = $1 AND status IN ('pending', 'checking')`,
    [id, error, verdictOf({ severities: [], errors: 1 })],
  );
  await setModelVerdictFromLatest(db, id);
}

/** Locks a release row for the verdict computation at the end of a check run. */
export async function lockRelease(db: PoolClient, id: number): Promise<Release | null> {
  const r = await db.query<ReleaseRow>('SELECT * FROM releases WHERE id = $1 FOR UPDATE', [id]);
  return r.rows[0] ? toRelease(r.rows[0]) : null;
}

/**
 * SQL for a release's unmuted findings of its current attempt per severity (`{critical, warning, info}`), stored in
 * `finding_counts` with its verdict: the model page's timeline reads them instead of counting on every request
 * (migration 0009). `id` is the SQL of the release id.
 */
export const findingCountsOf = (id: string): string =>
  `(SELECT jsonb_build_object('critical', count(*) FILTER (WHERE severity = 'critical'),
     'warning', count(*) FILTER (WHERE severity = 'warning'), 'info', count(*) FILTER (WHERE severity = 'info'))
   FROM current_findings WHERE release_id = ${id} AND mute_id IS NULL)`;

export async function finishRelease(db: Db, id: number, verdict: Verdict): Promise<void> {
  await db.query(
    `UPDATE releases SET status = 'done', verdict = $2, finding_counts = ${findingCountsOf('$1')}, finished_at = now(),
       updated_at = now() WHERE id = $1`,
    [id, verdict],
  );
  await setModelVerdictFromLatest(db, id);
}

/** Counts a finished release's findings again (a mute changed which count), whether or not its verdict changes. */
export async function refreshFindingCounts(db: Db, id: number): Promise<void> {
  await db.query(
    `UPDATE releases SET finding_counts = ${findingCountsOf('$1')} WHERE id = $1 AND status IN ('done', 'failed')`,
    [id],
  );
}

/** Sets a finished release's verdict again (a mute changed what counts), and its model's. */
export async function setReleaseVerdict(db: Db, id: number, verdict: Verdict): Promise<void> {
  await db.query(`UPDATE releases SET verdict = $2, updated_at = now() WHERE id = $1 AND status = 'done'`, [
    id,
    verdict,
  ]);
  await setModelVerdictFromLatest(db, id);
}

/**
 * Starts a new check attempt of a finished release: back to `pending` for the release worker, the earlier
 * attempt's check runs and findings kept. Returns the new attempt, or null when the release is still being checked.
 */
export async function startRecheck(db: Db, id: number): Promise<number | null> {
  const r = await db.query<{ check_attempt: number }>(
    `UPDATE releases SET check_attempt = check_attempt + 1, status = 'pending', verdict = NULL, error = NULL,
       finding_counts = NULL, finished_at = NULL, updated_at = now()
     WHERE id = $1 AND status IN ('done', 'failed') RETURNING check_attempt`,
    [id],
  );
  return r.rows[0]?.check_attempt ?? null;
}

/** Records whether a repo is private on the Hub, from the model info the release worker read. */
export async function setModelPrivate(db: Db, repo: string, isPrivate: boolean): Promise<void> {
  await db.query('UPDATE models SET private = $2 WHERE repo = $1 AND private <> $2', [repo, isPrivate]);
}

/** The model's verdict is that of its most recently received finished release. */
async function setModelVerdictFromLatest(db: Db, releaseId: number): Promise<void> {
  await db.query(
    `UPDATE models m SET verdict = l.verdict, latest_release_id = l.id, updated_at = now()
     FROM (SELECT r.id, r.verdict, r.model_id FROM releases r
           WHERE r.model_id = (SELECT model_id FROM releases WHERE id = $1) AND r.status IN ('done', 'failed')
           ORDER BY r.received_at DESC, r.id DESC LIMIT 1) l
     WHERE m.id = l.model_id`,
    [releaseId],
  );
}

export async function getModel(db: Db, repo: string): Promise<Model | null> {
  const r = await db.query({
    name: 'model-by-repo',
    text: `SELECT ${MODEL_COLUMNS} FROM models WHERE repo = $1`,
    values: [repo],
  });
  return r.rows[0] ? toModel(r.rows[0]) : null;
}

export async function listReleases(db: Db, modelId: number, limit = 100): Promise<Release[]> {
  const r = await db.query<ReleaseRow>({
    name: 'releases-of-model',
    text: `SELECT ${RELEASE_COLUMNS} FROM releases WHERE model_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2`,
    values: [modelId, limit],
  });
  return r.rows.map(toRelease);
}

/**
 * The release a model's verdict comes from: nearly always one of its newest releases, already read by the caller
 * (`releases`, from listReleases), which saves a round trip; else read by id.
 */
export async function verdictReleaseOf(db: Db, model: Model, releases: Release[]): Promise<Release | null> {
  const id = model.latestReleaseId;
  if (id === null) return null;
  return releases.find((r) => r.id === id) ?? getRelease(db, id);
}

export interface ModelListFilter {
  author?: string;
  verdict?: Verdict;
  code?: string;
  /** Id of the last model of the previous page. */
  after?: number;
  includePrivate: boolean;
  limit: number;
}

/** Models, most recently updated first, with keyset pagination after a model id; private ones only when asked. */
export async function listModels(db: Db, f: ModelListFilter): Promise<Model[]> {
  const r = await db.query(
    `SELECT m.* FROM models m
     WHERE ($1::text IS NULL OR m.author = $1) AND ($2::text IS NULL OR m.verdict = $2) AND ($6::boolean OR NOT m.private)
       AND ($4::bigint IS NULL OR (m.updated_at, m.id) < (SELECT updated_at, id FROM models WHERE id = $4))
       AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM current_findings f WHERE f.release_id = m.latest_release_id AND f.code = $3))
     ORDER BY m.updated_at DESC, m.id DESC LIMIT $5`,
    [f.author ?? null, f.verdict ?? null, f.code ?? null, f.after ?? null, f.limit, f.includePrivate],
  );
  return r.rows.map(toModel);
}

/** A release the reconciler looks at: its status, attempt, re-enqueues and the check runs of its current attempt. */
export interface StaleRelease {
  id: number;
  status: 'pending' | 'checking';
  checkAttempt: number;
  requeues: number;
  runs: number;
  openRuns: number;
}

/**
 * Unfinished releases untouched for `olderThanMs` (by `updated_at`, in Postgres) that the reconciler must act on:
 * `pending` ones (the snapshot was never built), and `checking` ones with no check run of their current attempt
 * (the release job died before creating them) or with every run ended (the job that would have set the verdict
 * died). `checking` releases with open runs are left to the check-run pass. With `id`, only that release.
 */
export async function staleReleases(
  db: Db,
  olderThanMs: number,
  opts: { id?: number; limit?: number } = {},
): Promise<StaleRelease[]> {
  const r = await db.query<{
    id: string;
    status: 'pending' | 'checking';
    check_attempt: number;
    requeues: number;
    runs: number;
    open_runs: number;
  }>(
    `SELECT r.id, r.status, r.check_attempt, r.requeues, count(cr.id)::int AS runs,
       (count(cr.id) FILTER (WHERE cr.status IN ('queued', 'running')))::int AS open_runs
     FROM releases r LEFT JOIN check_runs cr ON cr.release_id = r.id AND cr.attempt = r.check_attempt
     WHERE r.status IN ('pending', 'checking') AND r.updated_at < now() - ($1::int * interval '1 millisecond')
       AND ($2::bigint IS NULL OR r.id = $2)
     GROUP BY r.id
     HAVING r.status = 'pending' OR count(cr.id) = 0 OR count(cr.id) FILTER (WHERE cr.status IN ('queued', 'running')) = 0
     ORDER BY r.id LIMIT $3`,
    [olderThanMs, opts.id ?? null, opts.limit ?? 500],
  );
  return r.rows.map((x) => ({
    id: Number(x.id),
    status: x.status,
    checkAttempt: x.check_attempt,
    requeues: x.requeues,
    runs: x.runs,
    openRuns: x.open_runs,
  }));
}

/**
 * Claims one re-enqueue of a release's job: counts it and touches `updated_at`, only if nobody did since the
 * caller read `requeues` and the row is still unfinished and untouched for `minAgeMs` (or since `before`, the time a
 * failed job failed). Several reconcilers (one per
 * worker process) may race for the same release; exactly one wins.
 */
export async function claimReleaseRequeue(
  db: Db,
  id: number,
  seen: number,
  minAgeMs: number,
  before: Date | null = null,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE releases SET requeues = requeues + 1, updated_at = now()
     WHERE id = $1 AND requeues = $2 AND status IN ('pending', 'checking')
       AND updated_at < coalesce($4::timestamptz, now() - ($3::int * interval '1 millisecond'))`,
    [id, seen, minAgeMs, before],
  );
  return (r.rowCount ?? 0) > 0;
}
