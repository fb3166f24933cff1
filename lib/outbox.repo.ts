/**
 * SQL for webhook ingestion and the release outbox (releases accepted by a webhook whose release job is not
 * enqueued yet).
 */
import type { Pool, PoolClient } from './db.ts';
import type { DeliveryInput } from './releases.repo.ts';

type Db = Pool | PoolClient;

/**
 * Stores a delivery that announces repo@sha in one statement (one round trip, atomic): the model and the release
 * unless they exist, the outbox row for a new release, and the delivery (`release` when it created the release,
 * else `duplicate`). Returns null in the one case a single statement cannot settle: another transaction inserted
 * the same release after this statement's snapshot was taken (the conflict is seen, the row is not); the caller
 * runs it again, and the new snapshot sees it.
 */
export async function insertReleaseDelivery(
  db: Db,
  d: Omit<DeliveryInput, 'outcome' | 'reason' | 'releaseId'> & { repo: string; sha: string },
): Promise<{ deliveryId: number; outcome: 'release' | 'duplicate'; releaseId: number } | null> {
  const r = await db.query<{ id: string; outcome: 'release' | 'duplicate'; release_id: string }>(
    `WITH m AS (
       INSERT INTO models (repo, author) VALUES ($1, split_part($1, '/', 1))
       ON CONFLICT (repo) DO UPDATE SET updated_at = models.updated_at RETURNING id
     ), ins AS (
       INSERT INTO releases (model_id, repo, sha, source) SELECT id, $1, $2, 'webhook' FROM m
       ON CONFLICT (repo, sha) DO NOTHING RETURNING id
     ), outbox AS (
       INSERT INTO release_outbox (release_id) SELECT id FROM ins
     ), rel AS (
       SELECT id, 'release' AS outcome FROM ins
       UNION ALL
       SELECT id, 'duplicate' FROM releases WHERE repo = $1 AND sha = $2 AND NOT EXISTS (SELECT 1 FROM ins)
     )
     INSERT INTO webhook_deliveries (scope, action, repo, sha, webhook_id, payload, outcome, release_id)
     SELECT $3, $4, $1, $2, $5, $6, rel.outcome, rel.id FROM rel
     RETURNING id, outcome, release_id`,
    [d.repo, d.sha, d.scope, d.action, d.webhookId, JSON.stringify(d.payload)],
  );
  const row = r.rows[0];
  return row ? { deliveryId: Number(row.id), outcome: row.outcome, releaseId: Number(row.release_id) } : null;
}

/**
 * Takes up to `limit` outbox rows, oldest first, locked for the caller's transaction; rows another process holds
 * are skipped (two API processes never enqueue the same row at once). `pending` says whether the release still
 * waits for its release job (a row whose release moved on is only deleted).
 */
export async function takeOutbox(c: PoolClient, limit: number): Promise<{ releaseId: number; pending: boolean }[]> {
  const r = await c.query<{ release_id: string; pending: boolean }>(
    `SELECT o.release_id, r.status = 'pending' AS pending
       FROM release_outbox o JOIN releases r ON r.id = o.release_id
      ORDER BY o.release_id LIMIT $1 FOR UPDATE OF o SKIP LOCKED`,
    [limit],
  );
  return r.rows.map((x) => ({ releaseId: Number(x.release_id), pending: x.pending }));
}

export async function removeFromOutbox(c: Db, releaseIds: number[]): Promise<void> {
  await c.query('DELETE FROM release_outbox WHERE release_id = ANY($1::bigint[])', [releaseIds]);
}

export async function outboxSize(db: Db): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM release_outbox')).rows[0].n;
}
