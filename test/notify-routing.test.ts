/**
 * Slack alerts that say what to do, routed by watch rules, against a local HTTP server standing in for Slack:
 * findings with their fix (critical first, info only when nothing is more serious), release page and Hub links,
 * the previous verdict, minimum severity per rule, first-ok only on request, muted findings left out.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import type { Severity } from '../checks/types.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { createPool, withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createMute } from '../lib/mutes.repo.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { notifyRelease } from '../lib/pipeline/notify.ts';
import { createQueues } from '../lib/queues.ts';
import { finishRelease, upsertRelease } from '../lib/releases.repo.ts';
import { createWatch } from '../lib/watches.repo.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

let env: TestEnv;
let pool: Pool;
let deps: PipelineDeps;
let slack: Server;
let base: string;
const inbox: Record<string, { text: string; blocks: unknown[] }[]> = {};

before(async () => {
  env = await testEnv();
  pool = createPool(env.cfg.databaseUrl);
  slack = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      (inbox[req.url!] ??= []).push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => slack.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(slack.address() as { port: number }).port}`;
  deps = {
    pool,
    queues: createQueues(env.cfg.redisUrl, env.queuePrefix),
    cfg: { ...env.cfg, publicUrl: 'http://hw.test', hubUrl: 'http://hub.test', slackWebhookUrl: undefined },
    log: silentLog,
  };
  const rule = (kind: 'author' | 'repo', value: string, path: string, minSeverity: Severity, announceFirstOk = false) =>
    createWatch(pool, { kind, value, slackWebhookUrl: `${base}${path}`, minSeverity, announceFirstOk });
  await rule('author', 'org', '/all', 'info');
  await rule('author', 'org', '/critical-only', 'critical');
  await rule('repo', 'org/quiet', '/first-ok', 'warning', true);
});

after(async () => {
  await deps.queues.close();
  await pool.end();
  await new Promise((r) => slack.close(r));
  await env.cleanup();
});

let n = 0;
/** A finished release with these findings (verdict from the worst), after `previousId`. */
async function finished(repo: string, findings: [string, Severity][], previousId: number | null): Promise<number> {
  const sha = (++n).toString(16).padStart(40, '0');
  const { release } = await upsertRelease(pool, repo, sha, 'webhook');
  if (previousId !== null)
    await pool.query('UPDATE releases SET previous_release_id = $2 WHERE id = $1', [release.id, previousId]);
  const [run] = await createCheckRuns(pool, release.id, [{ id: 'eos-vs-template', queue: 'checks' }]);
  const worst = findings.some(([, s]) => s === 'critical')
    ? 'critical'
    : findings.some(([, s]) => s === 'warning')
      ? 'warning'
      : 'ok';
  await withTransaction(pool, async (c) => {
    await storeResult(c, run, {
      check: 'eos-vs-template',
      status: findings.length ? 'findings' : 'passed',
      durationMs: 1,
      findings: findings.map(([code, severity]) => ({
        code: code as 'EOS_MISMATCH',
        severity,
        check: 'eos-vs-template',
        title: `${severity} <title>`,
        detail: '',
        evidence: {},
        files: [],
      })),
    });
    await finishRelease(c, release.id, worst);
  });
  return release.id;
}

const texts = (path: string): string[] => (inbox[path] ?? []).map((m) => JSON.stringify(m.blocks));
const clear = (): void => Object.keys(inbox).forEach((k) => delete inbox[k]);

test('a critical release: findings with their fix, critical first, info left out, release and Hub links', async () => {
  const id = await finished(
    'org/model',
    [
      ['PAD_EQ_EOS', 'info'],
      ['PAD_EQ_EOS', 'warning'],
      ['EOS_MISMATCH', 'critical'],
    ],
    null,
  );
  assert.equal((await notifyRelease(deps, id)).sent, 2, 'both org rules: critical reaches the critical-only rule');
  const [msg] = texts('/all');
  const sha = n.toString(16).padStart(40, '0');
  assert.ok(msg.indexOf('EOS_MISMATCH') < msg.indexOf('PAD_EQ_EOS'), 'critical first');
  assert.match(msg, /turn terminator to eos_token_id/, 'the fix of EOS_MISMATCH');
  assert.doesNotMatch(msg, /info &lt;title/, 'the info finding is left out beside more serious ones');
  assert.match(msg, /warning &lt;title/);
  assert.match(msg, new RegExp(`http://hw.test/models/org/model/releases/${sha}`));
  assert.match(msg, new RegExp(`http://hub.test/org/model/commit/${sha}`));
  assert.match(msg, /critical &lt;title&gt;/, 'repo text escaped');
  clear();

  const fixed = await finished('org/model', [['PAD_EQ_EOS', 'info']], id);
  assert.equal((await notifyRelease(deps, fixed)).sent, 2, 'recovery reaches the rule that heard the critical');
  assert.match(inbox['/all'][0].text, /ok \(was critical\)/);
  assert.match(texts('/all')[0], /PAD_EQ_EOS/, 'only info left: it is listed');
  clear();

  const warn = await finished('org/model', [['PAD_EQ_EOS', 'warning']], fixed);
  assert.equal((await notifyRelease(deps, warn)).sent, 1);
  assert.deepEqual(Object.keys(inbox), ['/all'], 'a warning is under the critical-only rule');
  assert.match(inbox['/all'][0].text, /warning \(was ok\)/);
  clear();
});

test('a first release that is ok is announced only to the rule that asks for it', async () => {
  const id = await finished('org/quiet', [], null);
  assert.equal((await notifyRelease(deps, id)).sent, 1);
  assert.deepEqual(Object.keys(inbox), ['/first-ok']);
  assert.match(inbox['/first-ok'][0].text, /org\/quiet: ok \(first release seen\)/);
  clear();
  const other = await finished('org/silent', [], null);
  assert.deepEqual(await notifyRelease(deps, other), { sent: 0, reason: 'no targets' });
});

test('muted findings are left out of alerts', async () => {
  await withTransaction(pool, (c) =>
    createMute(c, { scope: 'org', target: 'org', code: 'NONFINITE_WEIGHTS', reason: 'known', createdBy: 't' }),
  );
  const prev = await finished('org/muted', [['EOS_MISMATCH', 'critical']], null);
  await notifyRelease(deps, prev);
  clear();
  const id = await finished(
    'org/muted',
    [
      ['EOS_MISMATCH', 'critical'],
      ['NONFINITE_WEIGHTS', 'critical'],
    ],
    prev,
  );
  assert.deepEqual(
    await notifyRelease(deps, id),
    { sent: 0, reason: 'no transition' },
    'a muted new critical is no news',
  );
});
