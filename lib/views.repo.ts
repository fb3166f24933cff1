/**
 * What a model page or a release view shows, read in one statement each (the status pages and the API's release
 * route). Each read used to be 4-6 statements, and every round trip wakes a Postgres backend and costs both sides a
 * protocol exchange. Postgres builds one JSON document of the same columns the single-table reads select; the named
 * statements take scalar parameters, so each connection keeps one generic plan; the rows become domain objects
 * through the same mappers as the single-table reads (lib/prepared-reads.test.ts holds both to equal results). The
 * timeline's severity counts are read as stored with each release's verdict (migration 0009), not counted here.
 */
import { FINDING_COLUMNS, FINDING_ORDER, RUN_COLUMNS, toRun, toStoredFinding } from './check-runs.repo.ts';
import type { CheckRun, FindingRow, RunRow, StoredFinding } from './check-runs.repo.ts';
import type { Pool, PoolClient } from './db.ts';
import {
  MODEL_COLUMNS,
  RELEASE_COLUMNS,
  previousCheckedOf,
  repoShaMatch,
  toModel,
  toRelease,
} from './releases.repo.ts';
import type { Model, ModelRow, Release, ReleaseRow } from './releases.repo.ts';

type Db = Pool | PoolClient;

/** JSON has no timestamp type: Postgres writes ISO 8601 with an offset, which Date reads to the millisecond. */
type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

const date = (s: string): Date => new Date(s);
const dateOrNull = (s: string | null): Date | null => (s === null ? null : new Date(s));

const releaseOf = (r: Json<ReleaseRow>): Release =>
  toRelease({ ...r, received_at: date(r.received_at), finished_at: dateOrNull(r.finished_at) });
const modelOf = (m: Json<ModelRow>): Model => toModel({ ...m, updated_at: date(m.updated_at) });
const runOf = (r: Json<RunRow>): CheckRun => toRun({ ...r, finished_at: dateOrNull(r.finished_at) });

export type SeverityCounts = Map<number, { critical: number; warning: number; info: number }>;

export interface ModelView {
  model: Model;
  /** Newest first. */
  releases: Release[];
  /** The release the model's verdict comes from (its latest finished one), and its findings. */
  verdictRelease: Release | null;
  findings: StoredFinding[];
  /**
   * Unmuted findings of each listed finished release's current attempt, per severity, as stored with its verdict
   * (`finding_counts`); releases without any, and unfinished ones, are absent.
   */
  counts: SeverityCounts;
}

const MODEL_VIEW = `WITH m AS (
    SELECT ${MODEL_COLUMNS} FROM models WHERE repo = $1 AND ($3::boolean OR NOT private)
  ), rel AS (
    SELECT ${RELEASE_COLUMNS}, finding_counts FROM releases WHERE model_id = (SELECT id FROM m)
    ORDER BY received_at DESC, id DESC LIMIT $2
  )
  SELECT row_to_json(m) AS model,
    (SELECT coalesce(json_agg(rel ORDER BY received_at DESC, id DESC), '[]') FROM rel) AS releases,
    (SELECT row_to_json(v) FROM (SELECT ${RELEASE_COLUMNS} FROM releases WHERE id = m.latest_release_id) v)
      AS verdict_release,
    (SELECT coalesce(json_agg(f ORDER BY ${FINDING_ORDER}), '[]')
       FROM (SELECT ${FINDING_COLUMNS} FROM current_findings WHERE release_id = m.latest_release_id) f) AS findings,
    (SELECT coalesce(json_agg(json_build_object('release_id', id, 'counts', finding_counts)), '[]')
       FROM rel WHERE finding_counts IS NOT NULL) AS counts
  FROM m`;

/**
 * The model page's data: the model (null when unknown, or private and `includePrivate` is false), its newest
 * `limit` releases, the verdict's release with its findings, and the timeline's severity counts.
 */
export async function modelView(
  db: Db,
  repo: string,
  opts: { includePrivate: boolean; limit: number },
): Promise<ModelView | null> {
  const r = await db.query<{
    model: Json<ModelRow>;
    releases: Json<ReleaseRow>[];
    verdict_release: Json<ReleaseRow> | null;
    findings: FindingRow[];
    counts: { release_id: number; counts: { critical: number; warning: number; info: number } }[];
  }>({ name: 'model-view', text: MODEL_VIEW, values: [repo, opts.limit, opts.includePrivate] });
  const row = r.rows[0];
  if (!row) return null;
  const counts: SeverityCounts = new Map();
  for (const { release_id: id, counts: c } of row.counts)
    if (c.critical + c.warning + c.info > 0) counts.set(Number(id), c);
  return {
    model: modelOf(row.model),
    releases: row.releases.map(releaseOf),
    verdictRelease: row.verdict_release && releaseOf(row.verdict_release),
    findings: row.findings.map(toStoredFinding),
    counts,
  };
}

export interface ReleaseView {
  release: Release;
  /** The check runs of its current attempt, in creation order. */
  runs: CheckRun[];
  findings: StoredFinding[];
  /** Its stored release-level evidence by kind, when asked for (`withEvidence`), else empty. */
  evidence: Map<string, Record<string, unknown>>;
  /**
   * The release it is compared with: the one recorded when its checks started (`previousReleaseId`), else the
   * revision pushed before it whose snapshot is stored (what it will be compared with).
   */
  previous: Release | null;
}

const RELEASE_VIEW = `WITH r AS (
    SELECT ${RELEASE_COLUMNS} FROM releases
    WHERE ${repoShaMatch('$1', '$2')}
      AND ($3::boolean OR NOT (SELECT private FROM models WHERE models.id = releases.model_id))
    ORDER BY id LIMIT 1
  )
  SELECT row_to_json(r) AS release,
    (SELECT coalesce(json_agg(x ORDER BY x.id), '[]')
       FROM (SELECT ${RUN_COLUMNS} FROM check_runs WHERE release_id = r.id AND attempt = r.check_attempt) x) AS runs,
    (SELECT coalesce(json_agg(f ORDER BY ${FINDING_ORDER}), '[]')
       FROM (SELECT ${FINDING_COLUMNS} FROM current_findings WHERE release_id = r.id) f) AS findings,
    CASE WHEN $4::boolean THEN
      (SELECT coalesce(json_object_agg(kind, data), '{}') FROM release_evidence WHERE release_id = r.id)
    END AS evidence,
    CASE WHEN r.previous_release_id IS NOT NULL
      THEN (SELECT row_to_json(p) FROM (SELECT ${RELEASE_COLUMNS} FROM releases WHERE id = r.previous_release_id) p)
      ELSE (SELECT row_to_json(p) FROM (SELECT ${RELEASE_COLUMNS} FROM releases
              ${previousCheckedOf({ modelId: 'r.model_id', id: 'r.id', receivedAt: 'r.received_at' })}) p)
    END AS previous
  FROM r`;

/**
 * A release of `repo` by full sha or a prefix of at least 7 characters (the first by id if several match), with
 * its check runs, findings and previous release; null when there is none, or its model is private and
 * `includePrivate` is false.
 */
export async function releaseView(
  db: Db,
  repo: string,
  sha: string,
  opts: { includePrivate: boolean; withEvidence: boolean },
): Promise<ReleaseView | null> {
  const r = await db.query<{
    release: Json<ReleaseRow>;
    runs: Json<RunRow>[];
    findings: FindingRow[];
    evidence: Record<string, Record<string, unknown>> | null;
    previous: Json<ReleaseRow> | null;
  }>({ name: 'release-view', text: RELEASE_VIEW, values: [repo, sha, opts.includePrivate, opts.withEvidence] });
  const row = r.rows[0];
  if (!row) return null;
  return {
    release: releaseOf(row.release),
    runs: row.runs.map(runOf),
    findings: row.findings.map(toStoredFinding),
    evidence: new Map(Object.entries(row.evidence ?? {})),
    previous: row.previous && releaseOf(row.previous),
  };
}
