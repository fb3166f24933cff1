/** SQL for release-level evidence (stored once per release and kind; see release-evidence.ts). */
import type { Pool, PoolClient } from './db.ts';
import type { ReleaseEvidence } from './release-evidence.ts';

type Db = Pool | PoolClient;

/** Stores (or replaces, on a re-check) the release's evidence of each kind. Part of the caller's transaction. */
export async function storeReleaseEvidence(db: Db, releaseId: number, items: ReleaseEvidence[]): Promise<void> {
  for (const e of items) {
    await db.query(
      `INSERT INTO release_evidence (release_id, kind, data) VALUES ($1, $2, $3)
       ON CONFLICT (release_id, kind) DO UPDATE SET data = EXCLUDED.data, created_at = now()`,
      [releaseId, e.kind, JSON.stringify(e.data)],
    );
  }
}

/** The release's stored evidence by kind. */
export async function loadReleaseEvidence(db: Db, releaseId: number): Promise<Map<string, Record<string, unknown>>> {
  const r = await db.query<{ kind: string; data: Record<string, unknown> }>(
    'SELECT kind, data FROM release_evidence WHERE release_id = $1',
    [releaseId],
  );
  return new Map(r.rows.map((x) => [x.kind, x.data]));
}
