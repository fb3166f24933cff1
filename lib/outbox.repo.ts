/**
 * SQL for webhook ingestion and the release outbox (releases accepted by a webhook whose release job is not
 * enqueued yet).
 */
import type { Pool, PoolClient } from './db.ts';
import type { DeliveryInput } from './releases.repo.ts';

type Db = Pool | PoolClient;

/** One delivery of a batch: `release` when it announces repo@sha, `ignored` (with its reason) otherwise. */
export type BatchDelivery = Omit<DeliveryInput, 'outcome' | 'releaseId'> &
  ({ kind: 'release'; repo: string; sha: string; reason: null } | { kind: 'ignored'; reason: string });

export interface StoredDelivery {
  deliveryId: number;
  outcome: 'release' | 'duplicate' | 'ignored';
  releaseId: number | null;
}

/**
 * Stores a batch of deliveries in one statement (one round trip, one commit, atomic): for the `release` ones the
 * models and releases that do not exist yet and an outbox row per new release; then every delivery, `release` for
 * the first delivery (in batch order) of a release the statement created, `duplicate` for the others, `ignored`
 * with its reason. The answer is indexed like the batch (delivery ids are drawn in the statement and returned with
 * each delivery's position, so no row is matched by its place in RETURNING). An entry is undefined in the one case
 * a single statement cannot settle: another transaction inserted that release (or its model) after the statement's
 * snapshot was taken, so the conflict is seen and the row is not; the caller runs those again, and the new snapshot
 * sees them. Throws the statement's error, in which case nothing of the batch is stored.
 */
export async function insertDeliveries(db: Db, batch: BatchDelivery[]): Promise<(StoredDelivery | undefined)[]> {
  // Each release once: ON CONFLICT cannot touch a row twice in one statement, and the first delivery of each is the
  // one answered `release` if the statement creates it.
  const keyOf = new Map<string, number>();
  const keys: { k: number; repo: string; sha: string }[] = [];
  const rows = batch.map((d, ord) => {
    let k: number | null = null;
    let first = false;
    if (d.kind === 'release') {
      const key = `${d.repo}@${d.sha}`;
      k = keyOf.get(key) ?? null;
      if (k === null) {
        k = keys.length;
        keyOf.set(key, k);
        keys.push({ k, repo: d.repo, sha: d.sha });
        first = true;
      }
    }
    const { scope, action, repo, sha, webhookId, reason, payload } = d;
    return { ord, k, first, scope, action, repo, sha, webhook_id: webhookId, reason, payload };
  });
  const r = await db.query<{ ord: number; id: string; outcome: StoredDelivery['outcome']; release_id: string | null }>({
    name: 'insert-deliveries',
    // Two jsonb parameters rather than an array per column: each payload is serialised once, with the rest.
    // jsonb_to_recordset is planned as 100 rows whatever the batch, so the plan is the same for every batch (hash
    // joins between the CTEs); releases and models are looked up by their unique indexes in scalar subqueries
    // whatever their size. A release that exists is only looked up: no model upsert, no row lock.
    text: `WITH keys AS MATERIALIZED (
       SELECT k.k, k.repo, k.sha,
              (SELECT r.id FROM releases r WHERE r.repo = k.repo AND r.sha = k.sha) AS known,
              (SELECT mo.id FROM models mo WHERE mo.repo = k.repo) AS model_id
         FROM jsonb_to_recordset($1::jsonb) AS k(k int, repo text, sha text)
     ), new_models AS (
       INSERT INTO models (repo, author)
       SELECT DISTINCT repo, split_part(repo, '/', 1) FROM keys WHERE known IS NULL AND model_id IS NULL ORDER BY 1
       ON CONFLICT (repo) DO NOTHING RETURNING id, repo
     ), ins AS (
       INSERT INTO releases (model_id, repo, sha, source)
       SELECT coalesce(keys.model_id, nm.id), keys.repo, keys.sha, 'webhook'
         FROM keys LEFT JOIN new_models nm ON nm.repo = keys.repo
        WHERE keys.known IS NULL AND coalesce(keys.model_id, nm.id) IS NOT NULL
        ORDER BY keys.repo, keys.sha
       ON CONFLICT (repo, sha) DO NOTHING RETURNING id, repo, sha
     ), outbox AS (
       INSERT INTO release_outbox (release_id) SELECT id FROM ins
     ), rel AS MATERIALIZED (
       SELECT keys.k, ins.id IS NOT NULL AS created, coalesce(keys.known, ins.id) AS id
         FROM keys LEFT JOIN ins ON ins.repo = keys.repo AND ins.sha = keys.sha
     ), input AS MATERIALIZED (
       SELECT t.*, nextval('webhook_deliveries_id_seq') AS id
         FROM jsonb_to_recordset($2::jsonb) AS t(ord int, k int, first boolean, scope text, action text, repo text,
                                                 sha text, webhook_id text, reason text, payload jsonb)
     ), rows AS MATERIALIZED (
       -- a payload of JSON null (or none) reads as SQL NULL here; it is stored as what was sent, jsonb null
       SELECT i.id, i.ord, i.scope, i.action, i.repo, i.sha, i.webhook_id, coalesce(i.payload, 'null'::jsonb) AS payload,
              i.reason, rel.id AS release_id,
              CASE WHEN i.k IS NULL THEN 'ignored' WHEN rel.created AND i.first THEN 'release' ELSE 'duplicate' END
                AS outcome
         FROM input i LEFT JOIN rel ON rel.k = i.k
        WHERE i.k IS NULL OR rel.id IS NOT NULL
     ), stored AS (
       INSERT INTO webhook_deliveries (id, scope, action, repo, sha, webhook_id, payload, outcome, reason, release_id)
       SELECT id, scope, action, repo, sha, webhook_id, payload, outcome, reason, release_id FROM rows ORDER BY id
     )
     SELECT ord, id, outcome, release_id FROM rows`,
    values: [JSON.stringify(keys), JSON.stringify(rows)],
  });
  const out = new Array<StoredDelivery | undefined>(batch.length);
  for (const row of r.rows)
    out[row.ord] = {
      deliveryId: Number(row.id),
      outcome: row.outcome,
      releaseId: row.release_id === null ? null : Number(row.release_id),
    };
  return out;
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
