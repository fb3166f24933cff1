import { declaredBaseModels } from '../../checks/arch/base-model-diff.ts';
import { ALL_CHECKS } from '../../checks/index.ts';
import type { Snapshot } from '../../checks/types.ts';
import { createCheckRuns } from '../check-runs.repo.ts';
import { HubSource, hubOptions, resolveRevision } from '../hub-client.ts';
import { isRepoId } from '../repo-id.ts';
import { jobId } from '../queues.ts';
import { getRelease, markChecking, previousCheckedRelease, setModelPrivate } from '../releases.repo.ts';
import { buildSnapshot } from '../snapshot-builder.ts';
import { cardDataOf, findSnapshotId, saveSnapshot } from '../snapshots.repo.ts';
import type { PipelineDeps } from './deps.ts';
import { fingerprintHash } from './fingerprint.ts';

/** Builds (or finds) the stored snapshot of repo@revision from the Hub. */
export async function snapshotFromHub(
  deps: PipelineDeps,
  repo: string,
  revision: string,
): Promise<{ id: number; snapshot: Snapshot | null; private: boolean }> {
  const rev = await resolveRevision(hubOptions(deps.cfg), repo, revision);
  const existing = await findSnapshotId(deps.pool, repo, rev.sha);
  if (existing !== null) return { id: existing, snapshot: null, private: rev.private };
  const snap = await buildSnapshot(
    new HubSource(hubOptions(deps.cfg), repo, rev.sha),
    { repo, sha: rev.sha, cardData: rev.cardData },
    { maxFileBytes: deps.cfg.maxFileBytes },
  );
  return { id: await saveSnapshot(deps.pool, snap, fingerprintHash(snap)), snapshot: snap, private: rev.private };
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
  const { id: snapshotId, snapshot, private: isPrivate } = await snapshotFromHub(deps, release.repo, release.sha);
  // The API reads a private repo's releases only with its token; the model info just read says which it is.
  await setModelPrivate(deps.pool, release.repo, isPrivate);
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
