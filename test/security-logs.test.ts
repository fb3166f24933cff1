/**
 * No secret is ever logged: the whole stack (API, workers, runner) runs a release from the mirror to its verdict
 * at log level debug with every secret configured, is sent right and wrong secrets and tokens (header and
 * `?secret=`), and every line it logged is searched for every configured secret.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { createLogger } from '../lib/logger.ts';
import { startStack } from '../services/processes.ts';
import type { Stack } from '../services/processes.ts';
import { eventually, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const REPO = 'hubwatch-fixtures/tiny-llama3-clean';
const SECRETS = {
  webhookSecret: 'whsec-91c2e7d04b5a',
  apiToken: 'apitok-5e8a13f9c2d7',
  hfToken: 'hf_tok7Q2mZx9LkP4s',
  slackPath: '/services/T0SECRET/B0SECRET/slk8f3a2c91d7e6',
};
const lines: string[] = [];
let env: TestEnv;
let stack: Stack;
let mirror: HubMirror;
let slack: Server;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-logs-'));
  slack = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => slack.listen(0, '127.0.0.1', r));
  const slackUrl = `http://127.0.0.1:${(slack.address() as { port: number }).port}${SECRETS.slackPath}`;
  env = await testEnv({
    webhookSecret: SECRETS.webhookSecret,
    apiToken: SECRETS.apiToken,
    hfToken: SECRETS.hfToken,
    slackWebhookUrl: slackUrl,
    logLevel: 'debug',
  });
  const log = createLogger('debug', 'hubwatch', { write: (s: string) => void lines.push(s) });
  mirror = await startHubMirror({ root: join(work, 'mirror') });
  stack = await startStack({ ...env.cfg, hubUrl: mirror.url }, log, { api: true, workers: true, runner: true });
  await mirror.close();
  mirror = await startHubMirror({
    root: join(work, 'mirror'),
    port: Number(new URL(mirror.url).port),
    webhook: { url: `${stack.url}/webhooks/huggingface`, secret: SECRETS.webhookSecret },
  });
});

after(async () => {
  await stack?.close();
  await mirror?.close();
  await new Promise((r) => slack?.close(r));
  await env?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

test('a release from webhook to verdict, with right and wrong secrets, logs none of them', async () => {
  const dir = join(work, 'release');
  buildFixture(fixtureByRepo(REPO), -1, dir);
  const { sha, webhookStatus } = await mirror.publish(REPO, dir);
  assert.equal(webhookStatus, 202);
  const hook = `${stack.url}/webhooks/huggingface`;
  const body = JSON.stringify({
    event: { scope: 'repo', action: 'create' },
    repo: { type: 'model', name: REPO, headSha: sha },
  });
  const json = { 'content-type': 'application/json' };
  const sent = [
    await fetch(`${hook}?secret=${SECRETS.webhookSecret}`, { method: 'POST', headers: json, body }),
    await fetch(`${hook}?secret=${SECRETS.webhookSecret}x`, { method: 'POST', headers: json, body }),
    await fetch(hook, { method: 'POST', headers: { ...json, 'x-webhook-secret': `x${SECRETS.webhookSecret}` }, body }),
    await fetch(`${stack.url}/v1/scans`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${SECRETS.apiToken}x` },
      body: JSON.stringify({ repo: REPO }),
    }),
    await fetch(`${stack.url}/v1/scans?token=${SECRETS.apiToken}`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${SECRETS.apiToken}` },
      body: JSON.stringify({ repo: REPO }),
    }),
  ];
  assert.deepEqual(
    sent.map((r) => r.status),
    [202, 401, 401, 401, 202],
  );
  await eventually(
    async () => {
      const r = await stack.deps.pool.query('SELECT status FROM releases WHERE repo = $1 AND sha = $2', [REPO, sha]);
      return r.rows[0]?.status === 'done';
    },
    120_000,
    'the verdict',
  );
  const text = lines.join('');
  assert.ok(lines.length > 10 && /incoming request/.test(text) && /release verdict/.test(text), 'the stack logged');
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const form of [secret, encodeURIComponent(secret)])
      assert.ok(!text.includes(form), `${name} appears in the logs`);
  }
});
