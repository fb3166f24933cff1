/** SQL for watches and alerts. */
import type { Verdict } from '../checks/types.ts';
import type { Pool } from './db.ts';

export interface AlertTarget {
  watchId: number | null;
  url: string;
}

/** Slack targets for a repo: watches on its author or on the repo itself. */
export async function watchTargets(pool: Pool, repo: string): Promise<AlertTarget[]> {
  const r = await pool.query<{ id: string; slack_webhook_url: string }>(
    `SELECT id, slack_webhook_url FROM watches WHERE slack_webhook_url IS NOT NULL
       AND ((kind = 'author' AND value = split_part($1, '/', 1)) OR (kind = 'repo' AND value = $1))`,
    [repo],
  );
  return r.rows.map((x) => ({ watchId: Number(x.id), url: x.slack_webhook_url }));
}

/** Claims the alert for (release, watch, verdict); null when it was already sent. */
export async function claimAlert(
  pool: Pool,
  releaseId: number,
  watchId: number | null,
  verdict: Verdict,
): Promise<number | null> {
  const r = await pool.query<{ id: string; status: string }>(
    `INSERT INTO alerts (release_id, watch_id, verdict) VALUES ($1, $2, $3)
     ON CONFLICT (release_id, watch_id, verdict) DO UPDATE SET attempts = alerts.attempts + 1 RETURNING id, status`,
    [releaseId, watchId, verdict],
  );
  return r.rows[0].status === 'sent' ? null : Number(r.rows[0].id);
}

export async function markAlert(
  pool: Pool,
  id: number,
  status: 'sent' | 'failed',
  error: string | null,
): Promise<void> {
  await pool.query(
    `UPDATE alerts SET status = $2, error = $3, sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1`,
    [id, status, error],
  );
}

export async function upsertWatch(
  pool: Pool,
  kind: 'author' | 'repo',
  value: string,
  slackWebhookUrl: string | null,
): Promise<number> {
  const r = await pool.query<{ id: string }>(
    `INSERT INTO watches (kind, value, slack_webhook_url) VALUES ($1, $2, $3)
     ON CONFLICT (kind, value) DO UPDATE SET slack_webhook_url = EXCLUDED.slack_webhook_url RETURNING id`,
    [kind, value, slackWebhookUrl],
  );
  return Number(r.rows[0].id);
}
