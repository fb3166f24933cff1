import { declaredBaseModels } from '../../checks/arch/base-model-diff.ts';
import { ALL_CHECKS } from '../../checks/index.ts';
import type { Snapshot } from '../../checks/types.ts';
import type { Config } from '../config.ts';
import { createCheckRuns } from '../check-runs.repo.ts';
import type { Pool } from '../db.ts';
import { HubSource, resolveRevision } from '../hub-client.ts';
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues.ts';
import { isRepoId } from '../repo-id.ts';
import { jobId } from '../queues.ts';
import { getRelease, markChecking, previousCheckedRelease } from '../releases.repo.ts';
import { buildSnapshot } from '../snapshot-builder.ts';
import { findSnapshotId, saveSnapshot } from '../snapshots.repo.ts';
import { fingerprintHash } from './fingerprint.ts';

export interface PipelineDeps {
  pool: Pool;
  queues: Queues;
  cfg: Config;
  log: Logger;
}

const hubOpts = (cfg: Config): { hubUrl: string; accessToken?: string } => ({
  hubUrl: cfg.hubUrl,
  ...(cfg.hfToken ? { accessToken: cfg.hfToken } : {}),
});

/** Builds (or finds) the stored snapshot of repo@revision from the Hub. */
export async function snapshotFromHub(
  deps: PipelineDeps,
  repo: string,
  revision: string,
): Promise<{ id: number; snapshot: Snapshot | null }> {
  const rev = await resolveRevision(hubOpts(deps.cfg), repo, revision);
  const existing = await findSnapshotId(deps.pool, repo, rev.sha);
  if (existing !== null) return { id: existing, snapshot: null };
  const snap = await buildSnapshot(
    new HubSource(hubOpts(deps.cfg), repo, rev.sha),
    { repo, sha: rev.sha, cardData: rev.cardData },
    { maxFileBytes: deps.cfg.maxFileBytes },
  );
  return { id: await saveSnapshot(deps.pool, snap, fingerprintHash(snap)), snapshot: snap };
}

/**
 * The release worker's work: snapshot the release through the Hub, resolve what it is compared against
 * (previous checked revision, declared base model), create one check run per check and enqueue them.
 * Idempotent: re-running it for a release already being checked only re-enqueues unfinished runs.
 */
export async function processRelease(deps: PipelineDeps, releaseId: number): Promise<void> {
  const release = await getRelease(deps.pool, releaseId);
  if (!release || release.status === 'done' || release.status === 'failed') return;
  const log = deps.log.child({ repo: release.repo, sha: release.sha, releaseId });
  const { id: snapshotId, snapshot } = await snapshotFromHub(deps, release.repo, release.sha);
  const cardData = snapshot?.cardData ?? (await cardDataOf(deps.pool, snapshotId));
  let baseSnapshotId: number | null = null;
  for (const base of declaredBaseModels({ cardData, repo: release.repo }).filter(isRepoId)) {
    try {
      baseSnapshotId = (await snapshotFromHub(deps, base, 'main')).id;
      break;
    } catch (e) {
      log.warn({ err: e, base }, 'base model could not be read; compared without it');
    }
  }
  const previous = await previousCheckedRelease(deps.pool, release);
  await markChecking(deps.pool, release.id, snapshotId, previous?.id ?? null, baseSnapshotId);
  const runs = await createCheckRuns(
    deps.pool,
    release.id,
    ALL_CHECKS.map((c) => ({ id: c.id, queue: c.queue })),
  );
  for (const run of runs) {
    const q = run.queue === 'tensor' ? deps.queues.tensor : deps.queues.checks;
    await q.add(run.checkId, { checkRunId: run.id }, { jobId: jobId.check(run.id) });
  }
  log.info(
    { checks: runs.length, previous: previous?.sha ?? null, baseSnapshotId },
    'release snapshotted, checks enqueued',
  );
}

async function cardDataOf(pool: Pool, snapshotId: number): Promise<Record<string, unknown> | null> {
  const r = await pool.query<{ card: Record<string, unknown> | null }>(
    `SELECT meta->'cardData' AS card FROM snapshots WHERE id = $1`,
    [snapshotId],
  );
  return r.rows[0]?.card ?? null;
}
