import type { Job, Queue } from 'bullmq';
import { verdictOf } from '../../checks/run-check.ts';
import { claimCheckRunRequeue, releaseOutcome, staleCheckRuns } from '../check-runs.repo.ts';
import type { StaleCheckRun } from '../check-runs.repo.ts';
import { withTransaction } from '../db.ts';
import { jobId, QUEUE } from '../queues.ts';
import type { CheckJob, ReleaseJob } from '../queues.ts';
import { claimReleaseRequeue, finishRelease, lockRelease, markFailed, staleReleases } from '../releases.repo.ts';
import type { StaleRelease } from '../releases.repo.ts';
import type { PipelineDeps } from './deps.ts';
import { failCheckRun } from './process-check-run.ts';

/** BullMQ states in which a job will still run (or is running): the reconciler leaves those alone. */
const LIVE = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Which rows a re-enqueue may be claimed for: untouched for `minAgeMs`, or (a `failed` event) since the job failed,
 * so the event handled by one process and a reconcile pass of another cannot both re-enqueue the same job.
 */
interface Cutoff {
  minAgeMs: number;
  before: Date | null;
}

export interface ReconcileResult {
  /** Release jobs re-enqueued. */
  releases: number;
  /** Check jobs re-enqueued. */
  checkRuns: number;
  /** Releases and check runs ended after the last allowed attempt. */
  gaveUp: number;
  /** Releases whose check runs had all ended, given their verdict. */
  finalized: number;
}

type Outcome = 'live' | 'requeued' | 'gave-up' | 'finalized' | 'skipped';

/** What happened to a job that is not live: BullMQ's failedReason, or why it is gone. */
async function deadJob(
  q: Queue,
  id: string,
): Promise<{ live: true } | { live: false; reason: string; exists: boolean }> {
  const job = (await q.getJob(id)) as Job | undefined;
  if (!job) return { live: false, reason: 'job missing from the queue', exists: false };
  const state = await job.getState();
  // A job stalled past maxStalledCount waits with a deferred failure: the next worker fails it without running it.
  if (state === 'waiting' && job.deferredFailure) return { live: false, reason: job.deferredFailure, exists: true };
  if (LIVE.has(state)) return { live: true };
  if (state === 'failed') return { live: false, reason: job.failedReason || 'job failed', exists: true };
  return { live: false, reason: `job ${state} without finishing its work`, exists: state !== 'unknown' };
}

/** Removes a dead job (if still there) and adds it again under the same id. */
async function reAdd<T>(q: Queue<T>, id: string, name: string, data: T, existed: boolean): Promise<void> {
  if (existed && (await q.remove(id)) === 0 && (await q.getJob(id))) {
    // Locked by a worker that just took it (a deferred failure being applied): the `failed` event or the next
    // pass handles it.
    return;
  }
  await (q as Queue).add(name, data, { jobId: id });
}

/** Gives a release its verdict when every check run of its current attempt has ended. */
async function finalize(deps: PipelineDeps, releaseId: number): Promise<boolean> {
  const verdict = await withTransaction(deps.pool, async (c) => {
    const release = await lockRelease(c, releaseId);
    if (!release || release.status !== 'checking') return null;
    const o = await releaseOutcome(c, releaseId);
    if (o.open > 0) return null;
    const v = verdictOf(o);
    await finishRelease(c, releaseId, v);
    return v;
  });
  if (!verdict) return false;
  await deps.queues.notify
    .add('notify', { releaseId }, { jobId: jobId.notify(releaseId) })
    .catch((e: Error) => deps.log.warn({ err: e }, 'notify enqueue failed'));
  deps.log.info({ releaseId, verdict }, 'reconciler: release verdict after its last check ended');
  return true;
}

async function reconcileRelease(deps: PipelineDeps, r: StaleRelease, cut: Cutoff): Promise<Outcome> {
  if (r.status === 'checking' && r.runs > 0 && r.openRuns === 0)
    return (await finalize(deps, r.id)) ? 'finalized' : 'skipped';
  const id = jobId.release(r.id, r.checkAttempt);
  const job = await deadJob(deps.queues.release, id);
  if (job.live) return 'live';
  const attempts = r.requeues + 1;
  if (attempts >= deps.cfg.reconcileMaxAttempts) {
    const reason = `gave up after ${attempts} attempts: ${job.reason}`;
    await markFailed(deps.pool, r.id, reason);
    deps.log.error({ releaseId: r.id, reason }, 'reconciler: release failed');
    return 'gave-up';
  }
  if (!(await claimReleaseRequeue(deps.pool, r.id, r.requeues, cut.minAgeMs, cut.before))) return 'skipped';
  await reAdd<ReleaseJob>(deps.queues.release, id, 'release', { releaseId: r.id }, job.exists);
  deps.log.warn({ releaseId: r.id, jobId: id, attempt: attempts + 1, last: job.reason }, 'release job re-enqueued');
  return 'requeued';
}

async function reconcileCheckRun(deps: PipelineDeps, run: StaleCheckRun, cut: Cutoff): Promise<Outcome> {
  const q = run.queue === 'tensor' ? deps.queues.tensor : deps.queues.checks;
  const id = jobId.check(run.id);
  const job = await deadJob(q, id);
  if (job.live) return 'live';
  const attempts = run.requeues + 1;
  if (attempts >= deps.cfg.reconcileMaxAttempts) {
    const reason = `gave up after ${attempts} attempts: ${job.reason}`;
    // Recorded as the run's error; the release gets its verdict (error) once its other runs have ended.
    await failCheckRun(deps, run.id, reason);
    deps.log.error({ checkRunId: run.id, reason }, 'reconciler: check run ended as error');
    return 'gave-up';
  }
  if (!(await claimCheckRunRequeue(deps.pool, run.id, run.requeues, cut.minAgeMs, cut.before))) return 'skipped';
  await reAdd<CheckJob>(q, id, run.checkId, { checkRunId: run.id }, job.exists);
  deps.log.warn({ checkRunId: run.id, jobId: id, attempt: attempts + 1, last: job.reason }, 'check job re-enqueued');
  return 'requeued';
}

/**
 * Postgres is the source of truth; Redis only carries work. A pass looks at every unfinished release and check
 * run untouched for `graceMs` (ages in Postgres) and at its job in BullMQ: a waiting, delayed or running job is left
 * alone; a failed, completed, missing one, or one stalled past BullMQ's limit (failed without our code running), is
 * removed and added again under the same id, counted in Postgres. After `reconcileMaxAttempts` enqueues the release
 * is marked failed (the check run `error`) with "gave up after N attempts: <BullMQ's reason>". A release whose check
 * runs have all ended gets its verdict even when the job that would have set it died.
 */
export async function reconcile(deps: PipelineDeps, graceMs = deps.cfg.reconcileGraceMs): Promise<ReconcileResult> {
  const out: ReconcileResult = { releases: 0, checkRuns: 0, gaveUp: 0, finalized: 0 };
  const count = (o: Outcome, key: 'releases' | 'checkRuns'): void => {
    if (o === 'requeued') out[key]++;
    else if (o === 'gave-up') out.gaveUp++;
    else if (o === 'finalized') out.finalized++;
  };
  const cut: Cutoff = { minAgeMs: Math.max(graceMs, 0), before: null };
  for (const r of await staleReleases(deps.pool, graceMs)) count(await reconcileRelease(deps, r, cut), 'releases');
  for (const run of await staleCheckRuns(deps.pool, graceMs))
    count(await reconcileCheckRun(deps, run, cut), 'checkRuns');
  return out;
}

/**
 * Handles a job BullMQ has just failed for good (a worker's `failed` event), without waiting for the next pass:
 * a job stalled past the limit is failed by the next worker that takes it, without running our code, so its release
 * or check run is still open in Postgres. Nothing to do when our code already recorded the failure.
 */
export async function recoverFailedJob(deps: PipelineDeps, queue: string, job: Job): Promise<Outcome> {
  if ((await job.getState()) !== 'failed') return 'live'; // failed an attempt, retried by BullMQ
  const cut: Cutoff = { minAgeMs: 0, before: new Date(job.finishedOn ?? Date.now()) };
  if (queue === QUEUE.release) {
    const { releaseId } = job.data as ReleaseJob;
    const [r] = await staleReleases(deps.pool, 0, { id: releaseId });
    return r ? reconcileRelease(deps, r, cut) : 'skipped';
  }
  const { checkRunId } = job.data as CheckJob;
  const [run] = await staleCheckRuns(deps.pool, 0, { id: checkRunId });
  return run ? reconcileCheckRun(deps, run, cut) : 'skipped';
}
