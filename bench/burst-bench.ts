/**
 * End-to-end burst benchmark: a family release day. 50 small generated models (infra/fixtures, under one org) are
 * committed on the local Hub mirror, then their 50 webhooks (the Hub's payloads) reach a real `hubwatch serve` at once;
 * `hubwatch worker` and `hubwatch runner` run as child processes, as an operator runs them. Prints the queue depths
 * (waiting/active/delayed per queue) and releases finished, sampled over time; the time from the webhooks until the
 * last verdict; and the per-release latency (webhook received → verdict stored) p50/p99/max.
 * Everything it starts (processes, mirror, database, queues, files) is stopped and removed at the end.
 *
 *   npm run bench:burst -- [--releases 50] [--sample-ms 5000] [--timeout-s 900] [--backend cpu] [--keep]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { FIXTURES, buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { createPayload, sendWebhook, webhookRepo } from '../infra/hub-mirror/webhook.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { migrate } from '../lib/migrate.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';
import { adminQuery, dbUrl } from '../test/helpers.ts';
import { freePort } from '../test/own-services.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ORG = 'burst-family';
const SECRET = `burst-${randomBytes(8).toString('hex')}`;
/** Fine-tune fixtures name this base model; it is on the mirror before the burst, as it would be on the Hub. */
const BASE = 'hubwatch-fixtures/tiny-llama3-clean';

const { values: args } = parseArgs({
  options: {
    releases: { type: 'string', default: '50' },
    'sample-ms': { type: 'string', default: '5000' },
    'timeout-s': { type: 'string', default: '900' },
    backend: { type: 'string', default: 'cpu' },
    'log-level': { type: 'string', default: 'warn' },
    keep: { type: 'boolean', default: false },
  },
});
const RELEASES = Number(args.releases);
const SAMPLE_MS = Number(args['sample-ms']);
const TIMEOUT_MS = Number(args['timeout-s']) * 1000;
const REDIS_URL = process.env.HUBWATCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const log = (s: string): void => void process.stdout.write(`${s}\n`);
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** `hubwatch <role>` as a child process with the bench's environment. */
function hubwatch(role: 'serve' | 'worker' | 'runner', env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'hubwatch.mjs'), role], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.once('exit', (code, sig) => {
    if (!stopping) log(`hubwatch ${role} exited early (${code ?? sig})`);
  });
  return child;
}
let stopping = false;

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(force);
}

const pct = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;

async function main(): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const dbName = `hubwatch_burst_${id}`;
  const databaseUrl = dbUrl(dbName);
  const prefix = `burst-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'hubwatch-burst-'));
  const children: ChildProcess[] = [];
  const queues = Object.values(QUEUE).map((q) => new Queue(q, { connection: redisConnection(REDIS_URL), prefix }));
  let mirror: HubMirror | null = null;
  let pool: Pool | null = null;
  const cleanup = async (): Promise<void> => {
    stopping = true;
    await Promise.all(children.map(stop));
    await mirror?.close();
    await pool?.end();
    for (const q of queues) {
      if (!args.keep) await q.obliterate({ force: true });
      await q.close();
    }
    if (!args.keep) await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    else log(`kept database ${databaseUrl} and queue prefix ${prefix}`);
    rmSync(work, { recursive: true, force: true });
  };
  let cleaned: Promise<void> | null = null;
  process.once('SIGINT', () => void (cleaned ??= cleanup()).finally(() => process.exit(130)));
  try {
    log(`burst bench: ${RELEASES} releases of ${ORG} published at once; loadavg ${load()}`);
    await adminQuery(`CREATE DATABASE ${dbName}`);
    pool = createPool(databaseUrl, undefined, 2);
    await migrate(pool);

    // The releases' folders, built before the clock starts: each a fixture's last revision (clean and buggy mixed).
    const dirs = Array.from({ length: RELEASES }, (_, i) => {
      const fx = FIXTURES[i % FIXTURES.length];
      const dir = join(work, `src-${i}`);
      buildFixture(fx, -1, dir);
      return { repo: `${ORG}/${fx.repo.split('/')[1]}-${String(i).padStart(3, '0')}`, dir };
    });
    const apiPort = await freePort();
    mirror = await startHubMirror({ root: join(work, 'mirror') });
    const baseDir = join(work, 'base');
    buildFixture(fixtureByRepo(BASE), -1, baseDir);
    await mirror.store.publish(BASE, baseDir);

    const env = {
      HUBWATCH_DATABASE_URL: databaseUrl,
      HUBWATCH_REDIS_URL: REDIS_URL,
      HUBWATCH_QUEUE_PREFIX: prefix,
      HUBWATCH_HUB_URL: mirror.url,
      HUBWATCH_WEBHOOK_SECRET: SECRET,
      HUBWATCH_HOST: '127.0.0.1',
      HUBWATCH_PORT: String(apiPort),
      HUBWATCH_LOG_LEVEL: args['log-level'],
      HUBWATCH_COMPUTE_BACKEND: args.backend,
    };
    children.push(hubwatch('serve', env), hubwatch('worker', env), hubwatch('runner', env));
    const ready = Date.now() + 90_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${apiPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > ready) throw new Error('hubwatch serve was not ready within 90 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    // The workers log nothing at warn when ready; give their processes the same start by waiting for their
    // BullMQ workers to register on the queues they serve.
    const served = [QUEUE.release, QUEUE.checks, QUEUE.tensor];
    for (;;) {
      const counts = await Promise.all(
        queues.filter((q) => served.includes(q.name as never)).map((q) => q.getWorkersCount()),
      );
      if (counts.every((n) => n > 0)) break;
      if (Date.now() > ready) throw new Error(`workers not registered within 90 s (${counts.join(', ')})`);
      await new Promise((r) => setTimeout(r, 250));
    }
    log(`processes up (serve, worker, runner); loadavg ${load()}`);

    // The commits land on the mirror first (its publishes are serialised, about a second each here), then the Hub's
    // 50 webhooks arrive together: the burst hubwatch sees on a family release day.
    const tp = performance.now();
    const shas: string[] = [];
    for (const d of dirs) shas.push((await mirror.store.publish(d.repo, d.dir)).sha);
    log(`${RELEASES} revisions committed on the mirror in ${((performance.now() - tp) / 1000).toFixed(1)} s`);
    const target = { url: `http://127.0.0.1:${apiPort}/webhooks/huggingface`, secret: SECRET };
    const t0 = performance.now();
    const wall0 = Date.now();
    const statuses = await Promise.all(
      dirs.map((d, i) => sendWebhook(target, createPayload(webhookRepo(mirror!.url, d.repo, false, shas[i])))),
    );
    const accepted = statuses.filter((s) => s === 202).length;
    log(
      `${RELEASES} webhooks sent at once, all answered in ${((performance.now() - t0) / 1000).toFixed(2)} s; 202: ${accepted}/${RELEASES}`,
    );

    log(`\n${'t s'.padStart(6)}  finished  ${served.map((q) => `${q} w/a/d`.padStart(16)).join('')}  loadavg`);
    const depthQueues = queues.filter((q) => served.includes(q.name as never));
    let finished = 0;
    let maxDepth = 0;
    while (finished < RELEASES) {
      const [counts, done] = await Promise.all([
        Promise.all(depthQueues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized'))),
        pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM releases WHERE status IN ('done', 'failed')`),
      ]);
      finished = done.rows[0].n;
      maxDepth = Math.max(maxDepth, ...counts.map((c) => c.waiting + c.prioritized));
      log(
        `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}  ${String(finished).padStart(8)}  ` +
          `${counts.map((c) => `${c.waiting + c.prioritized}/${c.active}/${c.delayed}`.padStart(16)).join('')}  ${load()}`,
      );
      if (finished >= RELEASES) break;
      if (performance.now() - t0 > TIMEOUT_MS) {
        log(
          `TIMED OUT: ${finished}/${RELEASES} verdicts after ${TIMEOUT_MS / 1000} s (figures below: finished releases only)`,
        );
        break;
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    const rows = (
      await pool.query<{ status: string; verdict: string | null; received: Date; finished: Date | null; lat: number }>(
        `SELECT status, verdict, received_at AS received, finished_at AS finished,
                extract(epoch FROM finished_at - received_at) * 1000 AS lat FROM releases WHERE repo LIKE $1`,
        [`${ORG}/%`],
      )
    ).rows;
    const ended = rows.filter((r) => r.finished !== null);
    const lat = ended.map((r) => Number(r.lat)).sort((a, b) => a - b);
    const last = Math.max(...ended.map((r) => r.finished!.getTime()));
    const verdicts = new Map<string, number>();
    for (const r of rows) verdicts.set(`${r.status}/${r.verdict}`, (verdicts.get(`${r.status}/${r.verdict}`) ?? 0) + 1);
    const runs = (
      await pool.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM check_runs GROUP BY status ORDER BY status',
      )
    ).rows;
    log(`\nreleases: ${rows.length} (${[...verdicts].map(([k, v]) => `${k} ${v}`).join(', ')})`);
    log(`check runs: ${runs.map((r) => `${r.status} ${r.n}`).join(', ')}`);
    log(
      `time from the webhooks to the last verdict: ${((last - wall0) / 1000).toFixed(1)} s (${ended.length}/${RELEASES} verdicts)`,
    );
    log(
      `per-release latency (webhook received → verdict): p50 ${(pct(lat, 50) / 1000).toFixed(1)} s, ` +
        `p99 ${(pct(lat, 99) / 1000).toFixed(1)} s, max ${(lat[lat.length - 1] / 1000).toFixed(1)} s`,
    );
    log(`deepest queue (waiting): ${maxDepth}; loadavg ${load()}`);
  } finally {
    await (cleaned ??= cleanup());
  }
}

await main();
