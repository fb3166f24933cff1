/** SQL for alert targets (the watch rules matching a repo) and the alerts sent to them. */
import type { Verdict } from '../checks/types.ts';
import type { Pool } from './db.ts';
import type { WatchRule } from './watches.repo.ts';

export interface AlertTarget {
  watchId: number | null;
  url: string;
  /** The rule's routing (absent for the deployment-wide HUBWATCH_SLACK_WEBHOOK_URL, which gets every alert). */
  rule?: Pick<WatchRule, 'minSeverity' | 'announceFirstOk'>;
}

/** Slack targets for a repo: watch rules on its author or on the repo itself that have a Slack URL. */
export async function watchTargets(pool: Pool, repo: string): Promise<AlertTarget[]> {
  const r = await pool.query<{
    id: string;
    slack_webhook_url: string;
    min_severity: WatchRule['minSeverity'];
    announce_first_ok: boolean;
  }>(
    `SELECT id, slack_webhook_url, min_severity, announce_first_ok FROM watches WHERE slack_webhook_url IS NOT NULL
       AND ((kind = 'author' AND value = split_part($1, '/', 1)) OR (kind = 'repo' AND value = $1)) ORDER BY id`,
    [repo],
  );
  return r.rows.map((x) => ({
    watchId: Number(x.id),
    url: x.slack_webhook_url,
    rule: { minSeverity: x.min_severity, announceFirstOk: x.announce_first_ok },
  }));
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

/** Creates or updates the rule for (kind, value) without a distinct Slack URL: the demo's and tests' shortcut. */
export async function upsertWatch(
  pool: Pool,
  kind: 'author' | 'repo',
  value: string,
  slackWebhookUrl: string | null,
  opts: { announceFirstOk?: boolean } = {},
): Promise<number> {
  const r = await pool.query<{ id: string }>(
    `INSERT INTO watches (kind, value, slack_webhook_url, announce_first_ok) VALUES ($1, $2, $3, $4)
     ON CONFLICT (kind, value, slack_webhook_url) DO UPDATE SET announce_first_ok = EXCLUDED.announce_first_ok
     RETURNING id`,
    [kind, value, slackWebhookUrl, opts.announceFirstOk ?? false],
  );
  return Number(r.rows[0].id);
}
