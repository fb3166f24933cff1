/** SQL behind /metrics: counts and durations that every process writes to Postgres, so any API process can report them. */
import type { Pool } from './db.ts';

/** Finished check runs per check: how many fell at or under each bound (seconds, not cumulative), sum and count. */
export async function checkDurations(
  pool: Pool,
  boundsSeconds: number[],
): Promise<{ check: string; counts: number[]; sum: number; count: number }[]> {
  const r = await pool.query<{ check_id: string; bucket: number; n: number; sum_ms: string }>(
    `SELECT check_id, (SELECT count(*)::int FROM unnest($1::float8[]) b WHERE b < duration_ms / 1000.0) AS bucket,
            count(*)::int AS n,
            sum(duration_ms)::text AS sum_ms
     FROM check_runs WHERE duration_ms IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`,
    [boundsSeconds],
  );
  const by = new Map<string, { check: string; counts: number[]; sum: number; count: number }>();
  for (const row of r.rows) {
    let s = by.get(row.check_id);
    if (!s) by.set(row.check_id, (s = { check: row.check_id, counts: boundsSeconds.map(() => 0), sum: 0, count: 0 }));
    // bucket i: the number of bounds below the duration, so it is ≤ bound i (Prometheus' `le`); past the last: +Inf only.
    const i = row.bucket;
    if (i < boundsSeconds.length) s.counts[i] += row.n;
    s.sum += Number(row.sum_ms) / 1000;
    s.count += row.n;
  }
  return [...by.values()];
}

/** Rows per value of an outcome column: webhook deliveries by outcome, alerts by status, releases by status. */
export async function outcomeCounts(pool: Pool): Promise<{
  webhooks: Record<string, number>;
  alerts: Record<string, number>;
  releases: Record<string, number>;
}> {
  const q = async (sql: string): Promise<Record<string, number>> =>
    Object.fromEntries((await pool.query<{ k: string; n: number }>(sql)).rows.map((x) => [x.k, x.n]));
  const [webhooks, alerts, releases] = await Promise.all([
    q('SELECT outcome AS k, count(*)::int AS n FROM webhook_deliveries GROUP BY 1'),
    q('SELECT status AS k, count(*)::int AS n FROM alerts GROUP BY 1'),
    q('SELECT status AS k, count(*)::int AS n FROM releases GROUP BY 1'),
  ]);
  return { webhooks, alerts, releases };
}
