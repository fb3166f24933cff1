/**
 * SIGKILL soak: a batch of releases published on the local Hub mirror is checked by real `hubwatch worker` and
 * `hubwatch runner` processes while they are SIGKILLed at random moments (after a random pause, the process holding a
 * random running job), including twice in a row on the same job (which BullMQ then fails as
 * "job stalled more than allowable limit" without running our code). Each killed process is started again. Prints:
 * releases done / failed (with reason) / stuck, duplicate findings, releases without exactly one complete set of check
 * runs, the reconciler's re-enqueues, and the time to the last verdict (process start-ups included). Exit code 1
 * when anything is stuck or duplicated.
 *
 *   node --import tsx bench/kill-soak.ts      (defaults: --kills 20 --releases 12 --workers 2 --lock-ms 8000,
 *                                             --max-pause-ms 2500, --seed from the clock; HUBWATCH_SOAK_KEEP=1 keeps logs)
 *
 * test/kill-soak.test.ts runs a small version (3 kills).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Job } from 'bullmq';
import { ALL_CHECKS } from '../checks/index.ts';
import { buildFixture, FIXTURES } from '../infra/fixtures/fixtures.ts';
import { rng } from '../infra/fixtures/safetensors-writer.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import { createPool } from '../lib/db.ts';
import { createQueues, jobId } from '../lib/queues.ts';
import { upsertRelease } from '../lib/releases.repo.ts';
import { testEnv } from '../test/helpers.ts';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const SOAK_FIXTURES = [
  'hubwatch-fixtures/tiny-llama3-clean',
  'hubwatch-fixtures/tiny-llama3-base-untrained',
  'hubwatch-fixtures/tiny-llama3-sharded',
  'hubwatch-fixtures/mistral-tokenizer-mismatch',
];

export interface SoakOptions {
  kills: number;
  releases: number;
  /** `hubwatch worker` processes (release, checks, notify, reconciler); one `hubwatch runner` besides. */
  workers: number;
  seed: number;
  /** BullMQ lock (and stalled-check period) of the processes: how long a killed job waits to be taken again. */
  lockMs: number;
  /** Random pause before each kill, ms (0: kill as soon as a job is active). */
  maxPauseMs: number;
  timeoutMs: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  releases: number;
  done: number;
  failed: { repo: string; error: string | null }[];
  stuck: number;
  duplicateFindings: number;
  /** Releases without exactly one run, ended, of each check of the catalog. */
  incompleteRunSets: number;
  kills: number;
  /** Jobs whose holder was killed twice in a row. */
  killedTwice: string[];
  releaseRequeues: number;
  checkRunRequeues: number;
  /** From the first enqueue to the last verdict. */
  seconds: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runKillSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const rnd = rng(o.seed);
  const work = mkdtempSync(join(tmpdir(), 'hubwatch-kill-soak-'));
  const mirror = await startHubMirror({ root: join(work, 'store') });
  const env = await testEnv({ hubUrl: mirror.url });
  const pool = createPool(env.databaseUrl);
  const queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  const logs = join(work, 'logs');
  mkdirSync(logs);
  const childEnv = {
    ...process.env,
    HUBWATCH_DATABASE_URL: env.databaseUrl,
    HUBWATCH_REDIS_URL: env.cfg.redisUrl,
    HUBWATCH_QUEUE_PREFIX: env.queuePrefix,
    HUBWATCH_HUB_URL: mirror.url,
    HUBWATCH_LOG_LEVEL: 'warn',
    HUBWATCH_COMPUTE_BACKEND: 'cpu',
    // Short locks and reconcile periods so a killed job is noticed in seconds, not minutes. Too short a lock on a
    // loaded machine makes BullMQ take running jobs for stalled (a 2 s lock did on 2 busy cores).
    HUBWATCH_JOB_LOCK_MS: String(o.lockMs),
    HUBWATCH_RECONCILE_INTERVAL_MS: '1000',
    HUBWATCH_RECONCILE_GRACE_MS: '3000',
    HUBWATCH_RECONCILE_MAX_ATTEMPTS: '6',
    HUBWATCH_WORKER_CONCURRENCY: '2',
  };
  const roles = [...Array.from({ length: o.workers }, () => 'worker'), 'runner'];
  const procs: (ChildProcess | null)[] = roles.map(() => null);
  let starts = 0;
  const start = (slot: number): void => {
    const out = openSync(join(logs, `${roles[slot]}-${slot}-${starts++}.log`), 'a');
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'hubwatch.mjs'), roles[slot]], {
      env: childEnv,
      stdio: ['ignore', out, out],
    });
    procs[slot] = p;
    p.on('exit', () => {
      if (procs[slot] === p) procs[slot] = null;
    });
  };
  const kill = (slot: number): Promise<void> => {
    const p = procs[slot];
    if (!p || p.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  const slotOfPid = (pid: number): number => procs.findIndex((p) => p?.pid === pid);
  const holder = (job: Job): number => {
    const pid = Number(
      String(job.processedBy ?? '')
        .split('-')
        .pop(),
    );
    return Number.isInteger(pid) ? slotOfPid(pid) : -1;
  };
  const jobQueues = [queues.release, queues.checks, queues.tensor];
  const activeJobs = async (): Promise<Job[]> =>
    (await Promise.all(jobQueues.map((q) => q.getJobs(['active'])))).flat().filter((j) => holder(j) >= 0);

  const t0 = Date.now();
  const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const releaseIds: number[] = [];
  let kills = 0;
  const killedTwice: string[] = [];
  const killedIds = new Set<string>();
  try {
    for (let i = 0; i < o.releases; i++) {
      const repo = `soak-org/${SOAK_FIXTURES[i % SOAK_FIXTURES.length].split('/')[1]}-${i}`;
      const dir = join(work, `rev-${i}`);
      buildFixture(
        FIXTURES.find((f) => f.repo === SOAK_FIXTURES[i % SOAK_FIXTURES.length])!,
        -1,
        dir,
      );
      const { sha } = await mirror.publish(repo, dir);
      const { release } = await upsertRelease(pool, repo, sha, 'manual');
      releaseIds.push(release.id);
    }
    roles.forEach((_, slot) => start(slot));
    for (const id of releaseIds) await queues.release.add('release', { releaseId: id }, { jobId: jobId.release(id) });
    const unfinished = async (): Promise<number> =>
      Number(
        (
          await pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM releases WHERE status IN ('pending', 'checking') AND id = ANY($1)`,
            [releaseIds],
          )
        ).rows[0].n,
      );
    // Twice on the same job: from about a third and two thirds of the kills on (retried at the next kills when the
    // job finished before BullMQ handed it out again).
    const twiceFrom = o.kills >= 6 ? [Math.floor(o.kills / 3), Math.floor((2 * o.kills) / 3)] : [1];
    const until = Date.now() + o.timeoutMs;
    while (kills < o.kills && Date.now() < until) {
      if (o.maxPauseMs) await pause(rnd() * o.maxPauseMs);
      if ((await unfinished()) === 0) break;
      // A random moment in the life of a random job: the pause above, then the next job seen running.
      const active = await activeJobs();
      if (!active.length) {
        await pause(50);
        continue;
      }
      // Jobs not killed yet first, so the kills spread over releases, checks and the runner's tensor checks.
      const fresh = active.filter((j) => !killedIds.has(j.id!));
      const candidates = fresh.length ? fresh : active;
      const job = candidates[Math.floor(rnd() * candidates.length)];
      killedIds.add(job.id!);
      const slot = holder(job);
      await kill(slot);
      kills++;
      log(`${elapsed()} kill ${kills}: ${roles[slot]} #${slot} holding ${job.queueName} job ${job.id}`);
      start(slot);
      if (killedTwice.length < twiceFrom.length && kills >= twiceFrom[killedTwice.length] && kills < o.kills) {
        // Wait for BullMQ to hand the same job to a live process again, then kill that one too.
        const q = jobQueues.find((x) => x.name === job.queueName)!;
        let again: Job | undefined;
        while (Date.now() < until) {
          const j = await q.getJob(job.id!);
          if (!j) break;
          const h = holder(j);
          if ((await j.getState()) === 'active' && h >= 0 && j.processedBy !== job.processedBy) {
            again = j;
            break;
          }
          if ((await j.getState()) === 'completed' || (await j.getState()) === 'failed') break;
          await pause(100);
        }
        if (again) {
          const s2 = holder(again);
          await kill(s2);
          kills++;
          killedTwice.push(job.id!);
          log(`${elapsed()} kill ${kills}: ${roles[s2]} #${s2} holding ${job.id} again`);
          start(s2);
        }
      }
    }
    while ((await unfinished()) > 0 && Date.now() < until) await pause(250);
    const seconds = (Date.now() - t0) / 1000;
    const rows = (
      await pool.query<{ repo: string; status: string; error: string | null; requeues: number }>(
        'SELECT repo, status, error, requeues FROM releases WHERE id = ANY($1)',
        [releaseIds],
      )
    ).rows;
    const dup = await pool.query(
      `SELECT 1 FROM findings WHERE release_id = ANY($1)
       GROUP BY release_id, check_id, code, title, detail HAVING count(*) > 1`,
      [releaseIds],
    );
    const catalog = ALL_CHECKS.map((c) => c.id)
      .sort()
      .join(',');
    const sets = await pool.query<{ done: boolean; ids: string }>(
      `SELECT r.status = 'done' AS done, string_agg(cr.check_id, ',' ORDER BY cr.check_id) FILTER
         (WHERE cr.status NOT IN ('queued', 'running')) AS ids
       FROM releases r LEFT JOIN check_runs cr ON cr.release_id = r.id WHERE r.id = ANY($1) GROUP BY r.id`,
      [releaseIds],
    );
    const runRequeues = await pool.query<{ n: string }>(
      'SELECT coalesce(sum(requeues), 0) AS n FROM check_runs WHERE release_id = ANY($1)',
      [releaseIds],
    );
    return {
      releases: rows.length,
      done: rows.filter((r) => r.status === 'done').length,
      failed: rows.filter((r) => r.status === 'failed').map((r) => ({ repo: r.repo, error: r.error })),
      stuck: rows.filter((r) => r.status === 'pending' || r.status === 'checking').length,
      duplicateFindings: dup.rowCount ?? 0,
      // A done release has exactly one ended run of each check (check_runs is unique per release, attempt, check).
      incompleteRunSets: sets.rows.filter((s) => s.done && s.ids !== catalog).length,
      kills,
      killedTwice,
      releaseRequeues: rows.reduce((n, r) => n + r.requeues, 0),
      checkRunRequeues: Number(runRequeues.rows[0].n),
      seconds,
    };
  } finally {
    await Promise.all(procs.map((_, slot) => kill(slot)));
    await queues.close();
    await pool.end();
    await env.cleanup();
    await mirror.close();
    if (process.env.HUBWATCH_SOAK_KEEP) log(`logs kept in ${logs}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      kills: { type: 'string', default: '20' },
      releases: { type: 'string', default: '12' },
      workers: { type: 'string', default: '2' },
      seed: { type: 'string', default: String(Date.now() % 100_000) },
      'max-pause-ms': { type: 'string', default: '2500' },
      'lock-ms': { type: 'string', default: '8000' },
      'timeout-s': { type: 'string', default: '600' },
    },
  });
  const r = await runKillSoak({
    kills: Number(values.kills),
    releases: Number(values.releases),
    workers: Number(values.workers),
    seed: Number(values.seed),
    maxPauseMs: Number(values['max-pause-ms']),
    lockMs: Number(values['lock-ms']),
    timeoutMs: Number(values['timeout-s']) * 1000,
  });
  process.stdout.write(`seed ${values.seed}\n${JSON.stringify(r, null, 2)}\n`);
  process.exitCode = r.stuck || r.duplicateFindings || r.incompleteRunSets ? 1 : 0;
}
