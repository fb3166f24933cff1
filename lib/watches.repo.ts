/** SQL for watch rules: which authors and repos hubwatch polls, and where (and how loud) their alerts go. */
import type { Severity } from '../checks/types.ts';
import type { Pool, PoolClient } from './db.ts';

type Db = Pool | PoolClient;

export type WatchKind = 'author' | 'repo';

export interface WatchRule {
  id: number;
  kind: WatchKind;
  /** An author (`google`) or a repo (`google/gemma-2-9b`). */
  value: string;
  slackWebhookUrl: string | null;
  /** Alerts reach this rule only when the release's verdict (or the one it recovers from) is at least this. */
  minSeverity: Severity;
  /** Whether a model's first release announces itself when it is ok (otherwise only problems do). */
  announceFirstOk: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface WatchInput {
  kind: WatchKind;
  value: string;
  slackWebhookUrl: string | null;
  minSeverity: Severity;
  announceFirstOk: boolean;
}

interface WatchRow {
  id: string;
  kind: WatchKind;
  value: string;
  slack_webhook_url: string | null;
  min_severity: Severity;
  announce_first_ok: boolean;
  created_at: Date;
  updated_at: Date;
}

const toRule = (r: WatchRow): WatchRule => ({
  id: Number(r.id),
  kind: r.kind,
  value: r.value,
  slackWebhookUrl: r.slack_webhook_url,
  minSeverity: r.min_severity,
  announceFirstOk: r.announce_first_ok,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Watch rules, newest first; `beforeId` continues a page. */
export async function listWatches(db: Db, f: { beforeId?: number; limit: number }): Promise<WatchRule[]> {
  const r = await db.query<WatchRow>(
    'SELECT * FROM watches WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2',
    [f.beforeId ?? null, f.limit],
  );
  return r.rows.map(toRule);
}

export async function getWatch(db: Db, id: number): Promise<WatchRule | null> {
  const r = await db.query<WatchRow>('SELECT * FROM watches WHERE id = $1', [id]);
  return r.rows[0] ? toRule(r.rows[0]) : null;
}

/** Creates a rule; null when the same target already has a rule with the same Slack URL. */
export async function createWatch(db: Db, w: WatchInput): Promise<WatchRule | null> {
  const r = await db.query<WatchRow>(
    `INSERT INTO watches (kind, value, slack_webhook_url, min_severity, announce_first_ok) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (kind, value, slack_webhook_url) DO NOTHING RETURNING *`,
    [w.kind, w.value, w.slackWebhookUrl, w.minSeverity, w.announceFirstOk],
  );
  return r.rows[0] ? toRule(r.rows[0]) : null;
}

/**
 * Applies a partial change to a rule. Returns the rule, null when it does not exist, or 'conflict' when the change
 * would duplicate another rule's target and Slack URL.
 */
export async function updateWatch(db: Db, id: number, w: Partial<WatchInput>): Promise<WatchRule | null | 'conflict'> {
  try {
    const r = await db.query<WatchRow>(
      `UPDATE watches SET kind = coalesce($2, kind), value = coalesce($3, value),
         slack_webhook_url = CASE WHEN $4::boolean THEN $5 ELSE slack_webhook_url END,
         min_severity = coalesce($6, min_severity), announce_first_ok = coalesce($7, announce_first_ok), updated_at = now()
       WHERE id = $1 RETURNING *`,
      [
        id,
        w.kind ?? null,
        w.value ?? null,
        w.slackWebhookUrl !== undefined,
        w.slackWebhookUrl ?? null,
        w.minSeverity ?? null,
        w.announceFirstOk ?? null,
      ],
    );
    return r.rows[0] ? toRule(r.rows[0]) : null;
  } catch (e) {
    if ((e as { code?: string }).code === '23505') return 'conflict';
    throw e;
  }
}

/** Deletes a rule (its sent-alert records go with it); false when it did not exist. */
export async function deleteWatch(db: Db, id: number): Promise<boolean> {
  const r = await db.query('DELETE FROM watches WHERE id = $1', [id]);
  return (r.rowCount ?? 0) > 0;
}

/** What the poller lists: every watched author and every individually watched repo. */
export async function pollTargets(db: Db): Promise<{ authors: string[]; repos: string[] }> {
  const r = await db.query<{ kind: WatchKind; value: string }>('SELECT DISTINCT kind, value FROM watches ORDER BY 2');
  return {
    authors: r.rows.filter((x) => x.kind === 'author').map((x) => x.value),
    repos: r.rows.filter((x) => x.kind === 'repo').map((x) => x.value),
  };
}
