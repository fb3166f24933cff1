/** The status page as a person sees it: rendered by a real headless Chromium. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { buildApp } from '../services/api/app.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { createPool, withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { finishRelease, upsertRelease } from '../lib/releases.repo.ts';
import { launchChromium } from './browser.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

let env: TestEnv;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;
let browser: Browser;
let base: string;

before(async () => {
  env = await testEnv();
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  app = await buildApp({ pool, queues, cfg: env.cfg, log: silentLog });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await queues?.close();
  await pool?.end();
  await env?.cleanup();
});

test('a critical model page shows the verdict, findings with evidence, and never runs repo-supplied markup', async () => {
  const sha = '1'.repeat(40);
  const { release } = await upsertRelease(pool, 'acme/widget', sha, 'webhook');
  const [run] = await createCheckRuns(pool, release.id, [{ id: 'eos-vs-template', queue: 'checks' }]);
  const evil = '<img src=x onerror="window.__pwned=1">';
  await withTransaction(pool, async (c) => {
    await storeResult(c, run, {
      check: 'eos-vs-template',
      status: 'findings',
      durationMs: 1,
      findings: [
        {
          code: 'EOS_MISMATCH',
          severity: 'critical',
          check: 'eos-vs-template',
          title: `Assistant turns end with ${evil}`,
          detail: 'not an EOS',
          evidence: { terminator: { token: evil, id: 128009 } },
          files: ['tokenizer_config.json'],
        },
      ],
    });
    await finishRelease(c, release.id, 'critical');
  });
  const page = await browser.newPage();
  try {
    const res = await page.goto(`${base}/models/acme/widget`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.locator('h1 .verdict').getAttribute('data-verdict'), 'critical');
    const finding = page.locator('section.finding[data-code="EOS_MISMATCH"]');
    assert.equal(await finding.count(), 1);
    assert.match(await finding.innerText(), /Assistant turns end with <img src=x onerror="window.__pwned=1">/);
    await finding.locator('summary').click();
    assert.match(await finding.locator('pre').innerText(), /"id": 128009/);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.locator('img').count(), 0);
    await page.screenshot({
      path: `${process.env.HUBWATCH_SCREENSHOT_DIR ?? '/tmp'}/hubwatch-status-page.png`,
      fullPage: true,
    });
  } finally {
    await page.close();
  }
});

test('an unknown model gets a readable 404 page', async () => {
  const page = await browser.newPage();
  try {
    const res = await page.goto(`${base}/models/acme/nothing`);
    assert.equal(res?.status(), 404);
    assert.match(await page.locator('body').innerText(), /has not seen this model/);
  } finally {
    await page.close();
  }
});
