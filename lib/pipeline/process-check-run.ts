import { checkById } from '../../checks/index.ts';
import { runCheck, verdictOf } from '../../checks/run-check.ts';
import type { CheckContext, CheckRunResult, FamilyStats, Snapshot, Verdict } from '../../checks/types.ts';
import { getCheckRun, markRunning, releaseOutcome, storeResult } from '../check-runs.repo.ts';
import type { CheckRun } from '../check-runs.repo.ts';
import { withTransaction } from '../db.ts';
import type { Pool } from '../db.ts';
import { jobId } from '../queues.ts';
import { withTimeout } from '../timeout.ts';
import { checkServices } from '../check-services.ts';
import type { CheckServices } from '../check-services.ts';
import { HubSource, hubOptions } from '../hub-client.ts';
import { createReleaseFiles } from '../release-files.ts';
import { finishRelease, getRelease, lockRelease } from '../releases.repo.ts';
import type { Release } from '../releases.repo.ts';
import { familyConfigs, loadSnapshot } from '../snapshots.repo.ts';
import type { CheckEnv, PipelineDeps } from './deps.ts';
import { familyStatsFrom } from '../../checks/arch/family-stats.ts';

/**
 * A small per-process memo of the last few keys: consecutive check jobs of one release share the parsed snapshot
 * (and what checks memoise on it) and the family statistics. A failed load is forgotten so the next job retries.
 */
function boundedMemo<V>(max: number): (key: number, load: () => Promise<V>) => Promise<V> {
  const entries = new Map<number, Promise<V>>();
  return (key, load) => {
    let p = entries.get(key);
    if (!p) {
      p = load();
      p.catch(() => entries.delete(key));
      entries.set(key, p);
      while (entries.size > max) entries.delete(entries.keys().next().value!);
    }
    return p;
  };
}

const snapshots = boundedMemo<Snapshot | null>(4);
const families = boundedMemo<FamilyStats | null>(4);
// One memo and renderer per release: its check jobs share parsed files, tokenizers and template renders.
const services = boundedMemo<CheckServices>(4);
const cachedSnapshot = (pool: Pool, id: number): Promise<Snapshot | null> =>
  snapshots(id, () => loadSnapshot(pool, id));

/**
 * Runs one check run: loads the release's snapshot (and the previous revision's and the base's), runs the
 * check under a time limit, and stores its outcome and findings in one transaction. When it was the release's
 * last open check, computes the verdict in the same transaction and enqueues the notification.
 * Idempotent: a run that already finished is left alone. When `cancel` aborts (its job is cancelled), the check's
 * signal aborts too and this throws CheckRunCancelled without storing anything.
 */
export async function processCheckRun(
  deps: PipelineDeps,
  env: CheckEnv,
  checkRunId: number,
  cancel?: AbortSignal,
): Promise<{ releaseDone: Verdict | null }> {
  const run = await getCheckRun(deps.pool, checkRunId);
  if (!run || (run.status !== 'queued' && run.status !== 'running')) return { releaseDone: null };
  const release = await getRelease(deps.pool, run.releaseId);
  if (!release || release.snapshotId === null) throw new Error(`release ${run.releaseId} has no snapshot yet`);
  const check = checkById(run.checkId);
  await markRunning(deps.pool, run.id);
  let result: CheckRunResult;
  if (!check) {
    result = {
      check: run.checkId,
      status: 'error',
      error: `unknown check ${run.checkId} (not in this worker's catalog)`,
      findings: [],
      durationMs: 0,
    };
  } else {
    const snapshot = await cachedSnapshot(deps.pool, release.snapshotId);
    if (!snapshot) throw new Error(`snapshot ${release.snapshotId} missing`);
    const shared = await services(release.id, async () => checkServices());
    const ctx: CheckContext = { ...shared, release: snapshot, previous: null, base: null, family: null };
    if (release.previousReleaseId !== null) {
      const prev = await getRelease(deps.pool, release.previousReleaseId);
      if (prev?.snapshotId) ctx.previous = await cachedSnapshot(deps.pool, prev.snapshotId);
    }
    if (release.baseSnapshotId !== null) ctx.base = await cachedSnapshot(deps.pool, release.baseSnapshotId);
    ctx.family = await families(release.snapshotId, () => familyFor(deps.pool, snapshot));
    // Ranged, bounded reads of the release's own files (pickle streams), at its commit.
    ctx.files = createReleaseFiles(new HubSource(hubOptions(deps.cfg), release.repo, release.sha));
    // The runner also opens the declared base's weights, for the base-model fingerprint.
    const tensors =
      check.queue === 'tensor' && env.openTensors ? await env.openTensors(release, snapshot, ctx.base) : null;
    if (tensors) {
      ctx.tensors = tensors.provider;
      ctx.baseTensors = tensors.baseTensors ?? null;
    }
    const ac = new AbortController();
    ctx.signal = cancel ? AbortSignal.any([ac.signal, cancel]) : ac.signal;
    try {
      const ms = deps.cfg.checkTimeoutMs;
      result = await withTimeout(untilCancelled(runCheck(check, ctx), cancel), ms, () => ({
        check: check.id,
        status: 'error',
        error: `check timed out after ${ms} ms`,
        findings: [],
        durationMs: ms,
      }));
    } finally {
      ac.abort();
      await tensors?.close();
    }
  }
  return completeCheckRun(deps, run, release, result);
}

/** The check was stopped by its job's cancellation (the worker is closing): nothing was stored, run it again. */
export class CheckRunCancelled extends Error {
  override name = 'CheckRunCancelled';
}

/** Settles with `p`, or rejects with CheckRunCancelled as soon as `cancel` aborts (a check may not listen). */
function untilCancelled<T>(p: Promise<T>, cancel: AbortSignal | undefined): Promise<T> {
  if (!cancel) return p;
  const stop = (): CheckRunCancelled => new CheckRunCancelled(`check cancelled: ${String(cancel.reason)}`);
  if (cancel.aborted) return Promise.reject(stop());
  let onAbort = (): void => undefined;
  const cancelled = new Promise<never>((_, reject) => {
    onAbort = () => reject(stop());
    cancel.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, cancelled]).finally(() => cancel.removeEventListener('abort', onAbort));
}

/** Records a check run as `error` after its job's last attempt failed, so the release still gets a verdict. */
export async function failCheckRun(deps: PipelineDeps, checkRunId: number, error: string): Promise<void> {
  const run = await getCheckRun(deps.pool, checkRunId);
  if (!run || (run.status !== 'queued' && run.status !== 'running')) return;
  const release = await getRelease(deps.pool, run.releaseId);
  if (!release) return;
  await completeCheckRun(deps, run, release, {
    check: run.checkId,
    status: 'error',
    error,
    findings: [],
    durationMs: 0,
  });
}

async function completeCheckRun(
  deps: PipelineDeps,
  run: CheckRun,
  release: Release,
  result: CheckRunResult,
): Promise<{ releaseDone: Verdict | null }> {
  const verdict = await withTransaction(deps.pool, async (c) => {
    await lockRelease(c, release.id);
    if (!(await storeResult(c, run, result))) return null;
    const o = await releaseOutcome(c, release.id);
    if (o.open > 0) return null;
    const v = verdictOf(o);
    await finishRelease(c, release.id, v);
    return v;
  });
  if (verdict) {
    await deps.queues.notify
      .add('notify', { releaseId: release.id }, { jobId: jobId.notify(release.id) })
      .catch((e: Error) => deps.log.warn({ err: e }, 'notify enqueue failed'));
    deps.log.info({ repo: release.repo, sha: release.sha, verdict }, 'release verdict');
  }
  return { releaseDone: verdict };
}

async function familyFor(pool: Pool, snapshot: Snapshot): Promise<FamilyStats | null> {
  let modelType: unknown;
  try {
    modelType = (JSON.parse(snapshot.texts['config.json'] ?? 'null') as { model_type?: unknown } | null)?.model_type;
  } catch {
    return null;
  }
  if (typeof modelType !== 'string') return null;
  return familyStatsFrom(modelType, await familyConfigs(pool, modelType, snapshot.repo));
}
