/**
 * Standalone Hub mirror:
 *   tsx infra/hub-mirror/main.ts --root DIR --port N [--host H] [--webhook-url URL --webhook-secret S]
 *        [--page-size N] [--fixtures] [--publish org/name=DIR ...] [--faults JSON]
 * `--faults` (or the HUB_MIRROR_FAULTS environment variable) injects Hub faults: a JSON array of rules, see faults.ts.
 * `--fixtures` publishes every revision of every fixture in infra/fixtures/fixtures.ts (in order) at startup;
 * `--publish` publishes a folder. Stops on SIGINT/SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FIXTURES } from '../fixtures/fixtures.ts';
import { parseFaultRules } from './faults.ts';
import type { HubMirror } from './server.ts';
import { startHubMirror } from './server.ts';

async function publishFixtures(mirror: HubMirror): Promise<void> {
  for (const fx of FIXTURES) {
    for (const rev of fx.revisions) {
      const dir = mkdtempSync(join(tmpdir(), 'hw-fixture-'));
      try {
        rev.build(dir);
        const r = await mirror.publish(fx.repo, dir, { message: rev.label });
        console.log(`published ${fx.repo}@${r.sha} (${rev.label}) webhook=${r.webhookStatus ?? '-'}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: 'string' },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'webhook-url': { type: 'string' },
      'webhook-secret': { type: 'string' },
      'page-size': { type: 'string' },
      fixtures: { type: 'boolean', default: false },
      publish: { type: 'string', multiple: true },
      faults: { type: 'string' },
    },
  });
  if (!values.root) throw new Error('--root DIR is required');
  if (Boolean(values['webhook-url']) !== Boolean(values['webhook-secret']))
    throw new Error('--webhook-url and --webhook-secret go together');
  const faultsJson = values.faults ?? process.env.HUB_MIRROR_FAULTS;
  const faults = faultsJson ? parseFaultRules(faultsJson) : undefined;
  if (faults) console.log(`hub mirror: ${faults.length} fault rule(s) active`);
  const mirror = await startHubMirror({
    faults,
    root: values.root,
    host: values.host,
    port: Number(values.port),
    pageSize: values['page-size'] ? Number(values['page-size']) : undefined,
    webhook: values['webhook-url'] ? { url: values['webhook-url'], secret: values['webhook-secret']! } : undefined,
  });
  console.log(`hub mirror listening on ${mirror.url} (root ${values.root})`);
  if (values.fixtures) await publishFixtures(mirror);
  for (const spec of values.publish ?? []) {
    const [repo, dir] = spec.split('=');
    if (!repo || !dir) throw new Error(`--publish expects org/name=DIR, got ${spec}`);
    const r = await mirror.publish(repo, dir);
    console.log(`published ${repo}@${r.sha} webhook=${r.webhookStatus ?? '-'}`);
  }
  const stop = (): void => {
    mirror.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: Error) => {
  console.error(`hub-mirror: ${e.message}`);
  process.exit(2);
});
