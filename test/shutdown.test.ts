/**
 * Graceful shutdown of `hubwatch worker` run as a child process: SIGTERM lets the running job finish, then the
 * process exits 0; past HUBWATCH_SHUTDOWN_GRACE_MS it exits without waiting for the job; a second signal exits at
 * once. The running job is a release job held on a fake Hub that answers only when the test says so.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues, jobId } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { upsertRelease } from '../lib/releases.repo.ts';
import { testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let env: TestEnv;
let pool: Pool;
let queues: Queues;
let hub: Server;
let hubUrl: string;
/** Requests the fake Hub holds, by repo. */
const held = new Map<string, ServerResponse>();
const arrived = new Map<string, () => void>();
const children: ChildProcess[] = [];

before(async () => {
  env = await testEnv();
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  hub = createServer((req, res) => {
    const m = /^\/api\/models\/(acme\/[\w-]+)\//.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end('{}');
    held.set(m[1], res);
    arrived.get(m[1])?.();
  });
  hub.listen(0, '127.0.0.1');
  await once(hub, 'listening');
  hubUrl = `http://127.0.0.1:${(hub.address() as { port: number }).port}`;
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const res of held.values()) res.destroy();
  hub.closeAllConnections();
  await new Promise((r) => hub.close(r));
  await queues.close();
  await pool.end();
  await env.cleanup();
});

/** Starts `hubwatch worker`, enqueues a release of `repo` and resolves once its job is waiting on the fake Hub. */
async function workerOnHeldJob(repo: string, graceMs: number): Promise<{ child: ChildProcess; log: () => string }> {
  const reached = new Promise<void>((r) => arrived.set(repo, r));
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli.ts', 'worker'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HUBWATCH_DATABASE_URL: env.cfg.databaseUrl,
      HUBWATCH_REDIS_URL: env.cfg.redisUrl,
      HUBWATCH_QUEUE_PREFIX: env.queuePrefix,
      HUBWATCH_HUB_URL: hubUrl,
      HUBWATCH_LOG_LEVEL: 'info',
      HUBWATCH_SHUTDOWN_GRACE_MS: String(graceMs),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stderr!.on('data', (d: Buffer) => void (out += d.toString()));
  const { release } = await upsertRelease(pool, repo, 'f'.repeat(40), 'manual');
  await queues.release.add('release', { releaseId: release.id }, { jobId: jobId.release(release.id) });
  await reached;
  return { child, log: () => out };
}

async function untilLogged(log: () => string, child: ChildProcess, text: string): Promise<void> {
  while (!log().includes(text)) {
    if (child.exitCode !== null) throw new Error(`exited before logging ${text}: ${log()}`);
    await once(child.stderr!, 'data');
  }
}

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : once(child, 'exit').then(([code]) => code as number);

test('SIGTERM: the running job finishes, then the worker exits 0', async () => {
  const repo = 'acme/finish-me';
  const { child, log } = await workerOnHeldJob(repo, 60_000);
  child.kill('SIGTERM');
  await untilLogged(log, child, 'shutting down');
  assert.equal(child.exitCode, null, 'still running while its job runs');
  const events: string[] = [];
  const exit = exited(child).then((code) => (events.push('exit'), code));
  events.push('hub answered');
  held.get(repo)!.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  assert.equal(await exit, 0, log());
  assert.deepEqual(events, ['hub answered', 'exit']);
  // The job ran to its end (its attempt is recorded), it was not cut off.
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM releases WHERE repo = $1', [repo]);
  const job = await queues.release.getJob(jobId.release(Number(rows[0].id)));
  assert.equal(job?.attemptsMade, 1);
});

test('past the grace period the worker exits without waiting for the job', async () => {
  const repo = 'acme/too-slow';
  const { child, log } = await workerOnHeldJob(repo, 200);
  child.kill('SIGTERM');
  const code = await exited(child);
  assert.ok(code === 0 || code === 1, `exit code ${code}`);
  assert.ok(!held.get(repo)!.headersSent, 'the Hub never answered: the deadline ended it, not the job');
  assert.match(log(), /shutting down/);
});

test('a second signal exits at once', async () => {
  const repo = 'acme/second-signal';
  const { child, log } = await workerOnHeldJob(repo, 60_000);
  child.kill('SIGTERM');
  await untilLogged(log, child, 'shutting down');
  child.kill('SIGTERM');
  assert.equal(await exited(child), 1);
  assert.match(log(), /second signal/);
  assert.ok(!held.get(repo)!.headersSent);
});
