/**
 * The reads of the model and release routes run as named statements (planned once per connection) with the same
 * results as before, survive a migration that adds columns under a connection that prepared them, and the pool keeps
 * idle connections (5 minutes) without keeping a process alive. The one-statement views the pages and the release
 * route read (views.repo.ts) return what the single-table reads return.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createCheckRuns, listCheckRuns, listFindings, storeResult } from './check-runs.repo.ts';
import { DB_IDLE_TIMEOUT_MS, createPool, withTransaction } from './db.ts';
import { loadReleaseEvidence, storeReleaseEvidence } from './release-evidence.repo.ts';
import type { Pool } from './db.ts';
import {
  findRelease,
  finishRelease,
  getModel,
  getRelease,
  listReleases,
  markChecking,
  previousCheckedRelease,
  upsertRelease,
} from './releases.repo.ts';
import type { Release } from './releases.repo.ts';
import { modelView, releaseView } from './views.repo.ts';
import { testEnv } from '../test/helpers.ts';
import type { TestEnv } from '../test/helpers.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NAMES = [
  'model-by-repo',
  'releases-of-model',
  'release-by-repo-sha',
  'release-by-id',
  'release-previous-checked',
  'check-runs-of-release',
  'findings-of-release',
  'model-view',
  'release-view',
];

let env: TestEnv;
let pool: Pool;
let first: Release;
let second: Release;

before(async () => {
  env = await testEnv();
  // One connection: every statement is prepared on the connection pg_prepared_statements is read from.
  pool = createPool(env.databaseUrl, undefined, 1);
  const repo = 'org/prepared';
  const a = await upsertRelease(pool, repo, 'a'.repeat(40), 'webhook');
  const b = await upsertRelease(pool, repo, 'b'.repeat(40), 'webhook');
  first = a.release;
  second = b.release;
  const snap = await pool.query<{ id: string }>(
    `INSERT INTO snapshots (repo, sha, meta) VALUES ($1, $2, '{}') RETURNING id`,
    [repo, first.sha],
  );
  await markChecking(pool, first.id, Number(snap.rows[0].id), null, null);
  const runs = await createCheckRuns(pool, second.id, [
    { id: 'pad-eq-eos', queue: 'checks' },
    { id: 'config-diff', queue: 'checks' },
  ]);
  await withTransaction(pool, async (c) => {
    for (const run of runs)
      await storeResult(c, run, {
        check: run.checkId,
        status: 'findings',
        durationMs: 3,
        findings: [
          {
            code: run.checkId === 'pad-eq-eos' ? 'PAD_EQ_EOS' : 'CONFIG_CHANGED',
            severity: run.checkId === 'pad-eq-eos' ? 'warning' : 'info',
            check: run.checkId,
            title: 't',
            detail: 'd',
            evidence: { k: 1 },
            files: ['config.json'],
          } as never,
        ],
      });
    await finishRelease(c, second.id, 'warning');
  });
  await storeReleaseEvidence(pool, second.id, [{ kind: 'base-fingerprint', data: { base: 'org/base', score: 0.25 } }]);
});

after(async () => {
  await pool?.end();
  await env?.cleanup();
});

/** Everything the routes read, as plain data. */
async function readAll(): Promise<unknown> {
  const model = await getModel(pool, 'org/prepared');
  assert.ok(model);
  return {
    model,
    releases: await listReleases(pool, model.id, 50),
    byFullSha: await findRelease(pool, 'org/prepared', second.sha),
    byPrefix: await findRelease(pool, 'org/prepared', second.sha.slice(0, 7)),
    shortPrefix: await findRelease(pool, 'org/prepared', second.sha.slice(0, 6)),
    byId: await getRelease(pool, second.id),
    previous: await previousCheckedRelease(pool, (await getRelease(pool, second.id))!),
    runs: await listCheckRuns(pool, second.id),
    findings: await listFindings(pool, second.id),
    modelView: await modelView(pool, 'org/prepared', { includePrivate: false, limit: 50 }),
    releaseView: await releaseView(pool, 'org/prepared', second.sha.slice(0, 12), {
      includePrivate: false,
      withEvidence: true,
    }),
  };
}

describe('release route reads', () => {
  test('are named statements on the connection and return what the rows hold', async () => {
    const r = (await readAll()) as Record<string, never>;
    const model = r.model as { repo: string; latestReleaseId: number | null };
    assert.equal(model.repo, 'org/prepared');
    assert.deepEqual(
      (r.releases as Release[]).map((x) => x.sha),
      [second.sha, first.sha],
    );
    assert.equal((r.byFullSha as Release).id, second.id);
    assert.equal((r.byPrefix as Release).id, second.id);
    assert.equal(r.shortPrefix, null, 'a prefix under 7 characters matches nothing');
    assert.deepEqual(r.byId, r.byFullSha);
    assert.equal((r.byId as Release).verdict, 'warning');
    assert.equal((r.previous as Release).id, first.id);
    assert.deepEqual(
      (r.runs as { checkId: string; status: string; durationMs: number }[]).map((x) => [
        x.checkId,
        x.status,
        x.durationMs,
      ]),
      [
        ['pad-eq-eos', 'findings', 3],
        ['config-diff', 'findings', 3],
      ],
    );
    assert.deepEqual(
      (r.findings as { code: string; evidence: unknown; files: string[]; muteId: null }[]).map((f) => [
        f.code,
        f.evidence,
        f.files,
        f.muteId,
      ]),
      [
        ['PAD_EQ_EOS', { k: 1 }, ['config.json'], null],
        ['CONFIG_CHANGED', { k: 1 }, ['config.json'], null],
      ],
      'warning before info',
    );
    const prepared = await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
    const names = new Set(prepared.rows.map((x) => x.name));
    for (const n of NAMES) assert.ok(names.has(n), `${n} prepared on the connection`);
  });

  test('the model and release views hold what the single-table reads return', async () => {
    const model = await getModel(pool, 'org/prepared');
    assert.ok(model);
    const releases = await listReleases(pool, model.id, 50);
    const verdictRelease = model.latestReleaseId === null ? null : await getRelease(pool, model.latestReleaseId);
    assert.equal(verdictRelease?.id, second.id);
    const mv = await modelView(pool, 'org/prepared', { includePrivate: false, limit: 50 });
    assert.ok(mv);
    assert.deepEqual(mv.model, model);
    assert.deepEqual(mv.releases, releases);
    assert.deepEqual(mv.verdictRelease, verdictRelease);
    assert.deepEqual(mv.findings, await listFindings(pool, second.id));
    assert.deepEqual([...mv.counts], [[second.id, { critical: 0, warning: 1, info: 1 }]], 'the first has no findings');
    assert.deepEqual(
      (await modelView(pool, 'org/prepared', { includePrivate: false, limit: 1 }))?.releases.map((r) => r.id),
      [second.id],
      'newest first, at most limit',
    );

    for (const sha of [second.sha, second.sha.slice(0, 7)]) {
      const rv = await releaseView(pool, 'org/prepared', sha, { includePrivate: false, withEvidence: true });
      assert.ok(rv, sha);
      assert.deepEqual(rv.release, await findRelease(pool, 'org/prepared', sha));
      assert.deepEqual(rv.runs, await listCheckRuns(pool, second.id));
      assert.deepEqual(rv.findings, await listFindings(pool, second.id));
      assert.deepEqual(rv.evidence, await loadReleaseEvidence(pool, second.id));
      assert.equal(rv.evidence.size, 1);
      // Its checks never started (no previous_release_id): the revision before it with a stored snapshot.
      assert.equal(rv.release.previousReleaseId, null);
      assert.deepEqual(rv.previous, await previousCheckedRelease(pool, rv.release));
      assert.equal(rv.previous?.id, first.id);
    }
    const noEvidence = await releaseView(pool, 'org/prepared', second.sha, {
      includePrivate: false,
      withEvidence: false,
    });
    assert.equal(noEvidence?.evidence.size, 0);
    const firstView = await releaseView(pool, 'org/prepared', first.sha, { includePrivate: false, withEvidence: true });
    assert.deepEqual(firstView?.runs, [], 'no check run yet');
    assert.equal(firstView?.previous, null, 'nothing before the first');

    assert.equal(
      await releaseView(pool, 'org/prepared', second.sha.slice(0, 6), { includePrivate: false, withEvidence: false }),
      null,
    );
    assert.equal(
      await releaseView(pool, 'org/other', second.sha, { includePrivate: false, withEvidence: false }),
      null,
    );
    assert.equal(await modelView(pool, 'org/unknown', { includePrivate: true, limit: 50 }), null);
  });

  test('a private model and its releases are in the views only for callers who may see them', async () => {
    await pool.query(`UPDATE models SET private = true WHERE repo = 'org/prepared'`);
    try {
      assert.equal(await modelView(pool, 'org/prepared', { includePrivate: false, limit: 50 }), null);
      assert.equal((await modelView(pool, 'org/prepared', { includePrivate: true, limit: 50 }))?.model.private, true);
      const view = (includePrivate: boolean) =>
        releaseView(pool, 'org/prepared', second.sha, { includePrivate, withEvidence: false });
      assert.equal(await view(false), null);
      assert.equal((await view(true))?.release.id, second.id);
    } finally {
      await pool.query(`UPDATE models SET private = false WHERE repo = 'org/prepared'`);
    }
  });

  test('a migration adding columns does not break statements a live connection prepared', async () => {
    const before = await readAll();
    // `SELECT *` prepared before this would fail with "cached plan must not change result type".
    await pool.query('ALTER TABLE releases ADD COLUMN prepared_test_col int');
    await pool.query('ALTER TABLE models ADD COLUMN prepared_test_col int');
    await pool.query('ALTER TABLE check_runs ADD COLUMN prepared_test_col int');
    try {
      assert.deepEqual(await readAll(), before);
    } finally {
      await pool.query('ALTER TABLE releases DROP COLUMN prepared_test_col');
      await pool.query('ALTER TABLE models DROP COLUMN prepared_test_col');
      await pool.query('ALTER TABLE check_runs DROP COLUMN prepared_test_col');
    }
  });
});

describe('createPool', () => {
  test('turns Memoize off on its connections (its hash tables are zeroed on every execution)', async () => {
    const p = createPool(env.databaseUrl, undefined, 1);
    try {
      assert.equal((await p.query('SHOW enable_memoize')).rows[0].enable_memoize, 'off');
    } finally {
      await p.end();
    }
  });

  test('keeps idle connections 5 minutes', () => {
    const p = createPool(env.databaseUrl);
    assert.equal(DB_IDLE_TIMEOUT_MS, 300_000);
    assert.equal((p as unknown as { options: { idleTimeoutMillis: number } }).options.idleTimeoutMillis, 300_000);
    return p.end();
  });

  test('an idle connection does not keep a process alive that never ends its pool', () => {
    const code = `import { createPool } from ${JSON.stringify(join(ROOT, 'lib/db.ts'))};
      const pool = createPool(${JSON.stringify(env.databaseUrl)});
      await pool.query('SELECT 1');
      process.stdout.write('queried');`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.stdout, 'queried', r.stderr);
    assert.equal(r.status, 0, r.stderr);
    // Without allowExitOnIdle it would wait out the 5-minute idle timeout (killed by the 60 s timeout above).
    assert.ok(Date.now() - t0 < 30_000, `${Date.now() - t0} ms`);
  });
});
