import { unfinishedCheckRuns } from '../check-runs.repo.ts';
import { jobId } from '../queues.ts';
import { pendingReleases } from '../releases.repo.ts';
import type { PipelineDeps } from './deps.ts';

/**
 * Postgres is the source of truth; Redis only carries work. This re-enqueues every accepted release still
 * `pending` and every unfinished check run (lost when Redis restarted without persistence, or never enqueued
 * because Redis was down). Job ids make it a no-op for work that is still queued or running.
 */
export async function reconcile(deps: PipelineDeps, graceMs = 5000): Promise<{ releases: number; checkRuns: number }> {
  const releases = await pendingReleases(deps.pool, graceMs);
  for (const r of releases)
    await deps.queues.release.add('release', { releaseId: r.id }, { jobId: jobId.release(r.id) });
  const runs = await unfinishedCheckRuns(deps.pool, graceMs);
  for (const run of runs) {
    const q = run.queue === 'tensor' ? deps.queues.tensor : deps.queues.checks;
    await q.add(run.checkId, { checkRunId: run.id }, { jobId: jobId.check(run.id) });
  }
  return { releases: releases.length, checkRuns: runs.length };
}
