/**
 * A Redis or a Postgres of a test's own, on a free loopback port, that the test may stop and start again (the
 * shared ones on 6379 and 5432 are never touched). Each stop/start waits for the server to exit or to accept
 * connections; close() removes everything it created.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface OwnService {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** redis-server on a free port, without persistence: a restart loses every job, as a crashed Redis would. */
export async function ownRedis(): Promise<OwnService> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    if (child && child.exitCode === null) return;
    const c = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    child = c;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      c.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
    });
    c.stdout!.resume();
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop, close: stop };
}

/** The newest PostgreSQL server binaries installed (Debian layout). */
function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', name)))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error(`no ${name} under ${root}/*/bin`);
  return join(root, versions[0], 'bin', name);
}

/** initdb/pg_ctl refuse to run as root: as root, run them as the `postgres` system user. */
function asPgUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/** A throwaway cluster (trust auth) in a temp dir; stop() is a fast shutdown, as a restart or failover does. */
export async function ownPostgres(): Promise<OwnService> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hubwatch-pg-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  await run(...asPgUser(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']));
  const pgCtl = async (...args: string[]): Promise<void> => {
    await run(...asPgUser(pgBin('pg_ctl'), ['-D', data, '-l', join(dir, 'log'), ...args]));
  };
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const running = (): Promise<boolean> =>
    pgCtl('status').then(
      () => true,
      () => false,
    );
  const start = async (): Promise<void> => {
    if (!(await running())) await pgCtl('-w', '-o', opts, 'start');
  };
  const stop = (): Promise<void> => pgCtl('-w', '-m', 'fast', 'stop');
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async close() {
      await pgCtl('-w', '-m', 'immediate', 'stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
