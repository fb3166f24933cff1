/** SQL for mutes: one finding code silenced on a model or an org, with who and why, every change audited. */
import type { Pool, PoolClient } from './db.ts';

type Db = Pool | PoolClient;

export type MuteScope = 'model' | 'org';

export interface MuteEvent {
  action: 'created' | 'deleted';
  actor: string;
  reason: string | null;
  at: Date;
}

export interface Mute {
  id: number;
  scope: MuteScope;
  /** `org/name` for a model, `org` for an org. */
  target: string;
  code: string;
  reason: string;
  createdBy: string;
  createdAt: Date;
  deletedBy: string | null;
  deletedAt: Date | null;
}

export interface MuteInput {
  scope: MuteScope;
  target: string;
  code: string;
  reason: string;
  createdBy: string;
}

interface MuteRow {
  id: string;
  scope: MuteScope;
  target: string;
  code: string;
  reason: string;
  created_by: string;
  created_at: Date;
  deleted_by: string | null;
  deleted_at: Date | null;
}

const toMute = (r: MuteRow): Mute => ({
  id: Number(r.id),
  scope: r.scope,
  target: r.target,
  code: r.code,
  reason: r.reason,
  createdBy: r.created_by,
  createdAt: r.created_at,
  deletedBy: r.deleted_by,
  deletedAt: r.deleted_at,
});

/** Creates a mute and its audit event (part of the caller's transaction); null when the same one is active. */
export async function createMute(c: PoolClient, m: MuteInput): Promise<Mute | null> {
  const r = await c.query<MuteRow>(
    `INSERT INTO mutes (scope, target, code, reason, created_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (scope, target, code) WHERE deleted_at IS NULL DO NOTHING RETURNING *`,
    [m.scope, m.target, m.code, m.reason, m.createdBy],
  );
  if (!r.rows[0]) return null;
  await c.query(`INSERT INTO mute_events (mute_id, action, actor, reason) VALUES ($1, 'created', $2, $3)`, [
    r.rows[0].id,
    m.createdBy,
    m.reason,
  ]);
  return toMute(r.rows[0]);
}

/** Lifts an active mute and records who and why (caller's transaction); null when no such active mute. */
export async function liftMute(c: PoolClient, id: number, actor: string, reason: string | null): Promise<Mute | null> {
  const r = await c.query<MuteRow>(
    `UPDATE mutes SET deleted_at = now(), deleted_by = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING *`,
    [id, actor],
  );
  if (!r.rows[0]) return null;
  await c.query(`INSERT INTO mute_events (mute_id, action, actor, reason) VALUES ($1, 'deleted', $2, $3)`, [
    id,
    actor,
    reason,
  ]);
  return toMute(r.rows[0]);
}

export async function getMute(db: Db, id: number): Promise<(Mute & { events: MuteEvent[] }) | null> {
  const r = await db.query<MuteRow>('SELECT * FROM mutes WHERE id = $1', [id]);
  if (!r.rows[0]) return null;
  const ev = await db.query<MuteEvent>(
    'SELECT action, actor, reason, at FROM mute_events WHERE mute_id = $1 ORDER BY at, id',
    [id],
  );
  return { ...toMute(r.rows[0]), events: ev.rows };
}

/** Mutes, newest first; lifted ones only when asked for, mutes of private models only for the API token. */
export async function listMutes(
  db: Db,
  f: { includeLifted: boolean; includePrivate: boolean; target?: string; beforeId?: number; limit: number },
): Promise<Mute[]> {
  const r = await db.query<MuteRow>(
    `SELECT * FROM mutes mu WHERE ($1::boolean OR deleted_at IS NULL) AND ($2::text IS NULL OR target = $2)
       AND ($3::bigint IS NULL OR id < $3)
       AND ($5::boolean OR NOT EXISTS (SELECT 1 FROM models m WHERE m.repo = mu.target AND m.private))
     ORDER BY id DESC LIMIT $4`,
    [f.includeLifted, f.target ?? null, f.beforeId ?? null, f.limit, f.includePrivate],
  );
  return r.rows.map(toMute);
}

/** Finished releases a mute on (scope, target) can change the verdict (done) or timeline counts (done, failed) of. */
export async function releasesUnder(db: Db, scope: MuteScope, target: string): Promise<number[]> {
  const r = await db.query<{ id: string }>(
    `SELECT id FROM releases WHERE status IN ('done', 'failed')
       AND CASE WHEN $1 = 'model' THEN repo = $2 ELSE split_part(repo, '/', 1) = $2 END ORDER BY id`,
    [scope, target],
  );
  return r.rows.map((x) => Number(x.id));
}
