/** SQL for the release outbox: releases accepted by a webhook whose release job is not enqueued yet. */
import type { Pool, PoolClient } from './db.ts';

type Db = Pool | PoolClient;

/** Records that the release's job is still to be enqueued (in the transaction that created the release). */
export async function addToOutbox(db: Db, releaseId: number): Promise<void> {
  await db.query('INSERT INTO release_outbox (release_id) VALUES ($1) ON CONFLICT DO NOTHING', [releaseId]);
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
