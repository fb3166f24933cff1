/** SQL for snapshots: metadata as jsonb, small files verbatim in snapshot_files. */
import type { Snapshot } from '../checks/types.ts';
import type { Pool, PoolClient } from './db.ts';
import { withTransaction } from './db.ts';

type Db = Pool | PoolClient;

/** model_type of a snapshot's config.json, when it parses. */
function configOf(s: Snapshot): { config: Record<string, unknown> | null; modelType: string | null } {
  try {
    const c = s.texts['config.json'] !== undefined ? (JSON.parse(s.texts['config.json']) as unknown) : null;
    if (c && typeof c === 'object' && !Array.isArray(c)) {
      const mt = (c as { model_type?: unknown }).model_type;
      return { config: c as Record<string, unknown>, modelType: typeof mt === 'string' ? mt : null };
    }
  } catch {
    // malformed config.json: reported by the files-wellformed check
  }
  return { config: null, modelType: null };
}

/** Stores a snapshot unless one for (repo, sha) exists; returns its id. */
export async function saveSnapshot(pool: Pool, s: Snapshot, tokenizerFingerprint: string | null): Promise<number> {
  return withTransaction(pool, async (c) => {
    const { config, modelType } = configOf(s);
    const meta = {
      files: s.files,
      omitted: s.omitted,
      rejected: s.rejected ?? {},
      safetensors: s.safetensors,
      cardData: s.cardData,
    };
    const ins = await c.query<{ id: string }>(
      `INSERT INTO snapshots (repo, sha, model_type, config, meta, tokenizer_fingerprint) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (repo, sha) DO NOTHING RETURNING id`,
      [
        s.repo,
        s.sha,
        modelType,
        config === null ? null : JSON.stringify(config),
        JSON.stringify(meta),
        tokenizerFingerprint,
      ],
    );
    if (!ins.rows[0]) {
      const r = await c.query<{ id: string }>('SELECT id FROM snapshots WHERE repo = $1 AND sha = $2', [s.repo, s.sha]);
      return Number(r.rows[0].id);
    }
    const id = Number(ins.rows[0].id);
    const rows: [string, string, Buffer][] = [
      ...Object.entries(s.texts).map(([p, t]): [string, string, Buffer] => [p, 'text', Buffer.from(t, 'utf8')]),
      ...Object.entries(s.binaries).map(([p, b]): [string, string, Buffer] => [p, 'binary', Buffer.from(b, 'base64')]),
    ];
    for (const [path, kind, content] of rows) {
      await c.query('INSERT INTO snapshot_files (snapshot_id, path, kind, content) VALUES ($1, $2, $3, $4)', [
        id,
        path,
        kind,
        content,
      ]);
    }
    return id;
  });
}

/** The model card metadata (`cardData`) stored with a snapshot; null when the card had none. */
export async function cardDataOf(db: Db, snapshotId: number): Promise<Record<string, unknown> | null> {
  const r = await db.query<{ card: Record<string, unknown> | null }>(
    `SELECT meta->'cardData' AS card FROM snapshots WHERE id = $1`,
    [snapshotId],
  );
  return r.rows[0]?.card ?? null;
}

export async function findSnapshotId(db: Db, repo: string, sha: string): Promise<number | null> {
  const r = await db.query<{ id: string }>('SELECT id FROM snapshots WHERE repo = $1 AND sha = $2', [repo, sha]);
  return r.rows[0] ? Number(r.rows[0].id) : null;
}

/** Loads a snapshot with its files; null when it does not exist. */
export async function loadSnapshot(db: Db, id: number): Promise<Snapshot | null> {
  const r = await db.query<{
    repo: string;
    sha: string;
    meta: {
      files: Snapshot['files'];
      omitted: Snapshot['omitted'];
      rejected?: Snapshot['rejected'];
      safetensors: Snapshot['safetensors'];
      cardData: Snapshot['cardData'];
    };
  }>('SELECT repo, sha, meta FROM snapshots WHERE id = $1', [id]);
  const row = r.rows[0];
  if (!row) return null;
  const snap: Snapshot = {
    repo: row.repo,
    sha: row.sha,
    files: row.meta.files,
    texts: {},
    binaries: {},
    omitted: row.meta.omitted,
    rejected: row.meta.rejected ?? {},
    safetensors: row.meta.safetensors,
    cardData: row.meta.cardData,
  };
  const f = await db.query<{ path: string; kind: string; content: Buffer }>(
    'SELECT path, kind, content FROM snapshot_files WHERE snapshot_id = $1',
    [id],
  );
  for (const x of f.rows) {
    if (x.kind === 'text') snap.texts[x.path] = x.content.toString('utf8');
    else snap.binaries[x.path] = x.content.toString('base64');
  }
  return snap;
}

/** config.json of the latest snapshot of every other repo with this model_type (input for family consensus). */
export async function familyConfigs(
  db: Db,
  modelType: string,
  excludeRepo: string,
  limit = 500,
): Promise<Record<string, unknown>[]> {
  const r = await db.query<{ config: Record<string, unknown> }>(
    `SELECT DISTINCT ON (repo) config FROM snapshots
     WHERE model_type = $1 AND repo <> $2 AND config IS NOT NULL ORDER BY repo, id DESC LIMIT $3`,
    [modelType, excludeRepo, limit],
  );
  return r.rows.map((x) => x.config);
}
