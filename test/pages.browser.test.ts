/**
 * The pages as people see them: rendered by Debian's headless Chromium. Each page type with its plot, the pending
 * state updating itself without JavaScript, a 390 px phone without sideways scrolling, dark mode, and hostile
 * strings that never run, and the API reference at /docs. With HUBWATCH_SCREENSHOTS=1 screenshots of every page type
 * go to docs/screenshots (committed, shown in the README); otherwise only the /docs one, to a temporary folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { buildApp } from '../services/api/app.ts';
import { DARK, LIGHT } from '../services/pages/theme.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { launchChromium } from './browser.ts';
import { EVIL_IMG, EVIL_SCRIPT, seedPages } from './page-fixtures.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

let env: TestEnv;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let seeded: Awaited<ReturnType<typeof seedPages>>;
const keep = process.env.HUBWATCH_SCREENSHOTS === '1';
const shots = keep ? 'docs/screenshots' : mkdtempSync(join(tmpdir(), 'hubwatch-shots-'));

before(async () => {
  env = await testEnv();
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  seeded = await seedPages(pool);
  app = await buildApp({ pool, queues, cfg: env.cfg, log: silentLog });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await app?.close();
  await queues?.close();
  await pool?.end();
  await env?.cleanup();
  if (!keep) rmSync(shots, { recursive: true, force: true });
});

const pages = () => ({
  index: '/',
  model: '/models/acme/tiny-llama3-instruct',
  release: `/models/acme/tiny-llama3-instruct/releases/${seeded.critical[1]}`,
  compare: `/models/acme/tiny-llama3-instruct/releases/${seeded.critical[1]}/compare`,
  pending: `/models/acme/still-checking/releases/${seeded.pending}`,
  hostile: `/models/mallory/hostile-strings/releases/${seeded.evil}`,
});

async function withPage<T>(
  opts: { width: number; dark?: boolean; js?: boolean },
  fn: (p: Page) => Promise<T>,
): Promise<T> {
  const ctx = await browser.newContext({
    viewport: { width: opts.width, height: opts.width < 500 ? 844 : 900 },
    colorScheme: opts.dark ? 'dark' : 'light',
    javaScriptEnabled: opts.js ?? false,
  });
  try {
    return await fn(await ctx.newPage());
  } finally {
    await ctx.close();
  }
}

const rgb = (hex: string): string => {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
};

test('each page type renders; the release page draws embedding and lm_head plots with the flagged rows', async () => {
  await withPage({ width: 1280 }, async (p) => {
    for (const [name, path] of Object.entries(pages())) {
      const res = await p.goto(base + path);
      assert.equal(res?.status(), 200, name);
    }
    await p.goto(base + pages().index);
    assert.equal(await p.locator('#models tbody tr').count(), 4);
    await p.goto(base + pages().release);
    const plots = p.locator('#norm-profiles svg.plot');
    assert.equal(await plots.count(), 2);
    for (let i = 0; i < 2; i++) {
      const svg = plots.nth(i);
      assert.equal(await svg.getAttribute('data-flagged'), '97');
      assert.ok((await svg.locator('rect.flagged').count()) >= 2, 'the flagged rows are marked');
      const box = await svg.locator('rect.flagged[data-rows="4000-4095"]').boundingBox();
      assert.ok(box && box.width > 5 && box.height > 50, 'the reserved block is visible');
    }
    assert.equal(await p.locator('section.finding[data-code="EOS_MISMATCH"] .side pre').count(), 2);
    assert.equal(await p.locator('#checks tbody tr').count(), 5);
    assert.equal(await p.locator('#base-diff svg.weight-diff-chart .diff-low-rank').count(), 4);
    await p.goto(base + pages().model);
    assert.equal(await p.locator('.status .verdict').getAttribute('data-verdict'), 'critical');
    assert.match(await p.locator('.status').innerText(), /Major issue\s+The latest release has critical findings/);
    await p.locator('#timeline a').first().click();
    assert.match(p.url(), /\/releases\/b2b2/);
  });
});

test('the Atom feed is well-formed XML and the badge an SVG image', async () => {
  await withPage({ width: 1280, js: true }, async (p) => {
    await p.goto(base + pages().index);
    // No named functions inside evaluate: tsx's keepNames would reference a helper the page does not have.
    const parsed = await p.evaluate(
      async (docs) => {
        const out: Record<string, { root: string; errors: number }> = {};
        for (const [name, url, type] of docs) {
          const doc = new DOMParser().parseFromString(await (await fetch(url)).text(), type as DOMParserSupportedType);
          out[name] = { root: doc.documentElement.nodeName, errors: doc.getElementsByTagName('parsererror').length };
        }
        return out;
      },
      [
        ['feed', '/feed.xml', 'application/xml'],
        ['badge', '/models/acme/tiny-llama3-instruct/badge.svg', 'image/svg+xml'],
      ],
    );
    assert.deepEqual(parsed, { feed: { root: 'feed', errors: 0 }, badge: { root: 'svg', errors: 0 } });
  });
});

/** Full-page screenshots of `path` at 1280 and 390 px, light and dark, as `<name>-<device>-<scheme>.png`. */
async function screenshots(name: string, path: string, also?: (p: Page, suffix: string) => Promise<unknown>) {
  for (const [device, width] of [
    ['desktop', 1280],
    ['phone', 390],
  ] as const) {
    for (const dark of [false, true]) {
      await withPage({ width, dark }, async (p) => {
        await p.goto(base + path);
        const suffix = `${device}-${dark ? 'dark' : 'light'}`;
        // The release page is long on a phone: its first screen is shown (the plots have their own shots).
        await p.screenshot({
          path: join(shots, `${name}-${suffix}.png`),
          fullPage: !(name === 'release' && width < 500),
        });
        await also?.(p, suffix);
      });
    }
  }
}

test('a release being checked says so, lists the finished checks and updates itself without JavaScript', async () => {
  if (keep) await screenshots('pending', pages().pending);
  await withPage({ width: 1280, js: false }, async (p) => {
    await p.goto(base + pages().pending);
    const status = p.locator('#pending');
    assert.match(await status.innerText(), /Checks running: 1 of 3 done/);
    assert.equal(await p.locator('#no-findings').count(), 0);
    // The checks finish; the meta refresh brings the verdict in.
    await pool.query(
      `UPDATE check_runs SET status = 'passed', finished_at = now() WHERE release_id =
         (SELECT id FROM releases WHERE sha = $1)`,
      [seeded.pending],
    );
    await pool.query(`UPDATE releases SET status = 'done', verdict = 'ok', finished_at = now() WHERE sha = $1`, [
      seeded.pending,
    ]);
    await p.locator('.status[data-verdict="ok"]').waitFor({ timeout: 15_000 });
    assert.match(await p.locator('#no-findings').innerText(), /No findings: all 3 checks finished/);
  });
});

test('at 390 and 1280 px no page scrolls sideways', async () => {
  for (const width of [390, 1280])
    await withPage({ width }, async (p) => {
      for (const [name, path] of Object.entries(pages())) {
        await p.goto(base + path);
        const { sw, cw } = await p.evaluate(() => ({
          sw: document.documentElement.scrollWidth,
          cw: document.documentElement.clientWidth,
        }));
        assert.ok(sw <= cw, `${name} at ${width} px: scrollWidth ${sw} > clientWidth ${cw}`);
      }
      // Stacked check rows on a phone leave out empty cells (a check with findings has no reason to give).
      await p.goto(base + pages().release);
      const reason = p.locator('#checks tr[data-check="eos-vs-template"] td[data-label="reason"]');
      assert.equal(await reason.count(), 1);
      assert.equal(await reason.isVisible(), width > 600);
    });
});

test('dark mode follows prefers-color-scheme', async () => {
  for (const [dark, palette] of [
    [false, LIGHT],
    [true, DARK],
  ] as const) {
    await withPage({ width: 1280, dark }, async (p) => {
      await p.goto(base + pages().release);
      const colours = await p.evaluate(() => {
        const s = getComputedStyle(document.body);
        return { bg: s.backgroundColor, fg: s.color };
      });
      assert.deepEqual(colours, { bg: rgb(palette.bg), fg: rgb(palette.fg) });
    });
  }
});

test('token strings and config values carrying <script> and <img onerror> run no script', async () => {
  await withPage({ width: 1280, js: true }, async (p) => {
    for (const path of [pages().index, '/models/mallory/hostile-strings', pages().hostile]) {
      await p.goto(base + path);
      assert.equal(await p.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, path);
      assert.equal(await p.locator('main img, main script').count(), 0, path);
    }
    const text = await p.locator('main').innerText();
    assert.ok(text.includes(EVIL_IMG) && text.includes(EVIL_SCRIPT), 'the strings are shown as text');
  });
});

test('the API reference at /docs runs under the page CSP and lists the operations', async () => {
  await withPage({ width: 1280, js: true }, async (p) => {
    const refused: string[] = [];
    p.on('console', (m) => m.type() === 'error' && refused.push(m.text()));
    p.on('pageerror', (e) => refused.push(e.message));
    const res = await p.goto(`${base}/docs`);
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await p.locator('.opblock').first().waitFor({ timeout: 15_000 });
    const paths = await p.locator('.opblock-summary-path').allInnerTexts();
    const ops = new Set(paths.map((t) => t.replace(/\u200b/g, '').trim()));
    for (const op of ['/v1/models', '/v1/findings', '/v1/watches', '/v1/releases/{org}/{name}/{sha}/recheck'])
      assert.ok(ops.has(op), `${op} listed in ${[...ops].join(', ')}`);
    assert.ok(ops.size >= 15, `${ops.size} operations listed`);
    assert.deepEqual(refused, [], 'no script or style refused, no page error');
    await p.screenshot({ path: join(shots, 'docs-desktop-light.png') });
  });
});

test(
  'screenshots: index, model, release and compare pages at 1280 and 390 px, light and dark',
  { skip: !keep && 'taken with HUBWATCH_SCREENSHOTS=1 (the other tests check the same pages)' },
  async () => {
    await screenshots('index', pages().index);
    await screenshots('model', pages().model);
    await screenshots('release', pages().release, (p, suffix) =>
      p.locator('#norm-profiles').screenshot({ path: join(shots, `plots-${suffix}.png`) }),
    );
    await screenshots('compare', pages().compare);
  },
);
