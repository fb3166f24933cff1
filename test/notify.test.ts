/** Slack alerts on verdict transitions, against a local HTTP server standing in for Slack's incoming webhook. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import { upsertWatch } from '../lib/alerts.repo.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { createPool, withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { notifyRelease } from '../lib/pipeline/notify.ts';
import { createQueues } from '../lib/queues.ts';
import { finishRelease, upsertRelease } from '../lib/releases.repo.ts';
import { SlackRateLimited } from '../lib/slack.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

let env: TestEnv;
let pool: Pool;
let deps: PipelineDeps;
let slack: Server;
let slackUrl: string;
const received: { blocks: unknown[]; text: string }[] = [];
let answer429 = 0;

before(async () => {
  env = await testEnv();
  pool = createPool(env.cfg.databaseUrl);
  slack = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (answer429 > 0) {
        answer429--;
        res.writeHead(429, { 'retry-after': '7' }).end('rate_limited');
        return;
      }
      received.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => slack.listen(0, '127.0.0.1', r));
  slackUrl = `http://127.0.0.1:${(slack.address() as { port: number }).port}/hook`;
  deps = {
    pool,
    queues: createQueues(env.cfg.redisUrl, env.queuePrefix),
    cfg: { ...env.cfg, publicUrl: 'http://hubwatch.test' },
    log: silentLog,
  };
});

after(async () => {
  await deps.queues.close();
  await pool.end();
  await new Promise((r) => slack.close(r));
  await env.cleanup();
});

async function finished(
  repo: string,
  sha: string,
  severity: 'critical' | null,
  previousId: number | null,
): Promise<number> {
  const { release } = await upsertRelease(pool, repo, sha, 'webhook');
  if (previousId !== null)
    await pool.query('UPDATE releases SET previous_release_id = $2 WHERE id = $1', [release.id, previousId]);
  const [run] = await createCheckRuns(pool, release.id, [{ id: 'eos-vs-template', queue: 'checks' }]);
  await withTransaction(pool, async (c) => {
    await storeResult(c, run, {
      check: 'eos-vs-template',
      status: severity ? 'findings' : 'passed',
      durationMs: 1,
      findings: severity
        ? [
            {
              code: 'EOS_MISMATCH',
              severity,
              check: 'eos-vs-template',
              title: 'turns end with <|eot_id|> & more',
              detail: '',
              evidence: {},
              files: [],
            },
          ]
        : [],
    });
    await finishRelease(c, release.id, severity ?? 'ok');
  });
  return release.id;
}

test('alerts go out on transitions only, once per release and verdict, and honour 429 Retry-After', async () => {
  await upsertWatch(pool, 'author', 'acme', slackUrl);
  const first = await finished('acme/model', 'a'.repeat(40), 'critical', null);
  assert.deepEqual(await notifyRelease(deps, first), { sent: 1, reason: 'transition' });
  assert.match(JSON.stringify(received[0].blocks), /acme\/model/);
  assert.match(JSON.stringify(received[0].blocks), /http:\/\/hubwatch.test\/models\/acme\/model/);
  assert.match(JSON.stringify(received[0].blocks), /&lt;\|eot_id\|&gt; &amp; more/, 'repo text is escaped for mrkdwn');

  assert.equal((await notifyRelease(deps, first)).sent, 0, 'never twice for the same release and verdict');

  const same = await finished('acme/model', 'b'.repeat(40), 'critical', first);
  assert.deepEqual(await notifyRelease(deps, same), { sent: 0, reason: 'no transition' });

  const fixed = await finished('acme/model', 'c'.repeat(40), null, same);
  answer429 = 1;
  await assert.rejects(
    notifyRelease(deps, fixed),
    (e: unknown) => e instanceof SlackRateLimited && e.retryAfterMs === 7000,
  );
  assert.deepEqual(await notifyRelease(deps, fixed), { sent: 1, reason: 'transition' }, 'the retry sends it');
  assert.equal(received.length, 2);
  assert.match(received[1].text, /ok \(was critical\)/);

  const other = await finished('someone-else/model', 'd'.repeat(40), 'critical', null);
  assert.deepEqual(await notifyRelease(deps, other), { sent: 0, reason: 'no targets' });
});
