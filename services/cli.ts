import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { runHealthcheck } from './healthcheck.ts';
import { runScanCommand, SCAN_USAGE } from './scan-command.ts';
import { prepareDatabase, startStack } from './processes.ts';
import type { Roles, Stack } from './processes.ts';

const USAGE = `usage: hubwatch <command> [options]

commands:
  scan <dir | org/name[@rev]> [--json] [--base <dir|repo>] [--previous <dir|repo@rev>] [--hub-url URL] [--no-weights]
                 check a local model folder or a Hub revision; no database or queue needed
  serve          HTTP API, webhook endpoint and status pages
  worker         release, checks and notify workers, poller and reconciler
  runner         weight checks (the tensor queue); meant for GPU hosts
  all            serve + worker + runner in one process
  migrate        apply database migrations
  demo [--keep]  the whole pipeline on the local Hub mirror with fixture releases
                 (needs the development dependencies)
  healthcheck [--url URL]
                 exit 0 when URL answers 2xx, or without --url when Postgres and Redis answer

hubwatch help scan (or hubwatch scan --help) for the scan options; hubwatch --version for the version.
exit codes (scan): 0 no critical finding, 1 critical findings, 2 usage or I/O error`;

/** The version in package.json (the CLI runs from the checkout or an installed package, both ship it). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function serveRoles(roles: Roles): Promise<void> {
  const cfg = loadConfig();
  const log = createLogger(cfg.logLevel);
  // The handlers are in place before anything starts: workers may take a job before startStack returns, and a
  // signal then must still let that job finish rather than kill the process.
  let starting: Promise<Stack> | null = null;
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) {
      log.warn('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ sig }, 'shutting down (finishing jobs in hand; signal again to force)');
    // The grace period lets running jobs finish; then they are cancelled (handed back to the queue) and the
    // process has a few more seconds to close its connections before it is ended anyway.
    const force = setTimeout(() => {
      log.warn({ graceMs: cfg.shutdownGraceMs }, 'shutdown deadline passed: exiting now');
      process.exit(1);
    }, cfg.shutdownGraceMs + 5_000);
    force.unref();
    if (!starting) process.exit(0);
    void starting.then(
      (stack) => stack.close().then(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  starting = startStack(cfg, log, roles);
  const stack = await starting;
  log.info({ url: stack.url, roles }, 'hubwatch started');
}

/** The demo lives in infra/ with the fixtures and the Hub mirror, which need the development dependencies. */
async function runDemoCommand(args: string[]): Promise<number> {
  let demo: { runDemo(args: string[]): Promise<number> };
  try {
    demo = await import('../infra/demo.ts');
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    process.stderr.write(`hubwatch demo needs the development dependencies (npm ci): ${(e as Error).message}\n`);
    return 2;
  }
  return demo.runDemo(args);
}

/** Entry point of the `hubwatch` command. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'scan':
      return runScanCommand(rest);
    case 'serve':
      await serveRoles({ api: true });
      return -1;
    case 'worker':
      await serveRoles({ workers: true });
      return -1;
    case 'runner':
      await serveRoles({ runner: true });
      return -1;
    case 'all':
      await serveRoles({ api: true, workers: true, runner: true });
      return -1;
    case 'healthcheck':
      return runHealthcheck(rest);
    case 'migrate': {
      parseArgs({ args: rest, options: {} });
      const cfg = loadConfig();
      const log = createLogger(cfg.logLevel);
      const pool = await prepareDatabase(cfg, log);
      await pool.end();
      process.stderr.write('migrations up to date\n');
      return 0;
    }
    case 'demo':
      return runDemoCommand(rest);
    case '--version':
    case '-V':
      process.stdout.write(`hubwatch ${version()}\n`);
      return 0;
    case 'help':
      process.stdout.write(`${rest[0] === 'scan' ? SCAN_USAGE : USAGE}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`hubwatch: unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`);
      return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (e: Error) => {
      process.stderr.write(`hubwatch: ${e.message}\n`);
      process.exitCode = 2;
    },
  );
}
