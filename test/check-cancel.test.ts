/**
 * Closing a worker stops a running check: the processor's AbortSignal reaches the check's context, nothing is
 * stored for the cancelled run, and its job goes back to waiting (no attempt used) for another worker to finish.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Worker } from 'bullmq';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { createCheckRuns, getCheckRun } from '../lib/check-runs.repo.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { LocalFolderSource } from '../lib/local-source.ts';
import type { CheckEnv, PipelineDeps } from '../lib/pipeline/deps.ts';
import { createQueues, jobId, QUEUE } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { getRelease, markChecking, upsertRelease } from '../lib/releases.repo.ts';
import { buildSnapshot } from '../lib/snapshot-builder.ts';
import { saveSnapshot } from '../lib/snapshots.repo.ts';
import { createTensorStatsProvider } from '../lib/tensor-stats.ts';
import { startCheckWorker } from '../workers/check.worker.ts';
import { closeWorker } from '../workers/close-worker.ts';
import { eventually, silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const REPO = 'hubwatch-fixtures/tiny-llama3-clean';
let env: TestEnv;
let pool: Pool;
let queues: Queues;
let work: string;
const workers: Worker[] = [];

before(async () => {
  env = await testEnv();
  pool = createPool(env.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  work = mkdtempSync(join(tmpdir(), 'hw-cancel-'));
});
after(async () => {
  await Promise.all(workers.map((w) => w.close(true)));
  await queues?.close();
  await pool?.end();
  await env?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** A tensor reader that never answers until its signal aborts; records what it saw. */
function stuckEnv(): { env: CheckEnv; started: Promise<void>; aborted: () => unknown } {
  let reason: unknown = null;
  let markStarted = (): void => undefined;
  const started = new Promise<void>((res) => (markStarted = res));
  const provider = {
    rowStats: (_t: unknown, signal?: AbortSignal) =>
      new Promise<never>((_, reject) => {
        markStarted();
        signal?.addEventListener('abort', () => reject((reason = signal.reason ?? 'aborted') as Error), { once: true });
      }),
  };
  return {
    env: { openTensors: async () => ({ provider, close: async () => undefined }) },
    started,
    aborted: () => reason,
  };
}

test('closing a worker cancels its running check; the job waits again and another worker finishes it', async () => {
  const dir = join(work, 'release');
  buildFixture(fixtureByRepo(REPO), -1, dir);
  const source = new LocalFolderSource(dir);
  const snapshot = await buildSnapshot(source, { repo: REPO, sha: 'a'.repeat(40) }, { maxFileBytes: 1 << 24 });
  const snapshotId = await saveSnapshot(pool, snapshot, null);
  const { release } = await upsertRelease(pool, REPO, snapshot.sha, 'manual');
  await markChecking(pool, release.id, snapshotId, null, null);
  const [run] = await createCheckRuns(pool, release.id, [{ id: 'untrained-tokens', queue: 'tensor' }]);
  const deps: PipelineDeps = { pool, queues, cfg: env.cfg, log: silentLog };

  const stuck = stuckEnv();
  const first = startCheckWorker(deps, QUEUE.tensor, stuck.env, 1);
  workers.push(first);
  await queues.tensor.add(run.checkId, { checkRunId: run.id }, { jobId: jobId.check(run.id) });
  await stuck.started;
  assert.equal((await getCheckRun(pool, run.id))?.status, 'running');

  await closeWorker(first, 0);
  assert.equal(String(stuck.aborted()), 'worker closing', 'the check saw the worker closing through its signal');
  const job = await queues.tensor.getJob(jobId.check(run.id));
  assert.equal(await job?.getState(), 'waiting');
  assert.equal(job?.attemptsMade, 0, 'a cancellation uses no attempt');
  const afterCancel = await getCheckRun(pool, run.id);
  assert.equal(afterCancel?.status, 'running', 'nothing stored for the cancelled run');
  assert.equal(afterCancel?.error ?? null, null);

  const real: CheckEnv = {
    openTensors: async (_r, snap) => {
      const provider = createTensorStatsProvider(source, snap);
      return { provider, close: () => provider.close() };
    },
  };
  workers.push(startCheckWorker(deps, QUEUE.tensor, real, 1));
  const finished = await eventually(async () => {
    const r = await getCheckRun(pool, run.id);
    return r && r.status !== 'queued' && r.status !== 'running' ? r : null;
  }, 60_000);
  assert.equal(finished.status, 'passed');
  assert.equal((await getRelease(pool, release.id))?.verdict, 'ok');
});
