/**
 * The mute rule of the current_findings view (migration 0007: mutes joined, not looked up per row) and the findings
 * search and severity counts built on it, against a real Postgres: a model mute wins over its org's, an org mute
 * covers the org's models only, a lifted mute silences nothing, earlier check attempts stay hidden, and no finding is
 * repeated when both a model and an org mute match it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCheckRuns, listFindings, storeResult } from './check-runs.repo.ts';
import type { StoredFinding } from './check-runs.repo.ts';
import { createPool, withClient, withTransaction } from './db.ts';
import type { Pool } from './db.ts';
import { DEFAULT_SEARCH_LIMIT, searchFindings, searchQuery } from './findings.repo.ts';
import type { FindingFilter, FoundFinding } from './findings.repo.ts';
import { reapplyVerdicts } from './mute-verdicts.ts';
import { createMute, liftMute } from './mutes.repo.ts';
import { finishRelease, markFailed, startRecheck, upsertRelease } from './releases.repo.ts';
import { modelView } from './views.repo.ts';
import type { Severity } from '../checks/types.ts';
import { testEnv } from '../test/helpers.ts';
import type { TestEnv } from '../test/helpers.ts';

let env: TestEnv;
let pool: Pool;

interface Spec {
  code: string;
  severity: Severity;
  check: string;
}

const PAD: Spec = { code: 'PAD_EQ_EOS', severity: 'warning', check: 'pad-eq-eos' };
const EOS: Spec = { code: 'EOS_MISMATCH', severity: 'critical', check: 'eos-vs-template' };
const CFG: Spec = { code: 'CONFIG_CHANGED', severity: 'info', check: 'config-diff' };

/** Stores one check attempt of `releaseId` with one finding per spec (one check run per check), finished unless not. */
async function storeAttempt(releaseId: number, specs: Spec[], finish = true): Promise<void> {
  const checks = [...new Set(specs.map((s) => s.check))];
  const runs = await createCheckRuns(
    pool,
    releaseId,
    checks.map((id) => ({ id, queue: 'checks' as const })),
  );
  await withTransaction(pool, async (c) => {
    for (const run of runs) {
      const mine = specs.filter((s) => s.check === run.checkId);
      await storeResult(c, run, {
        check: run.checkId,
        status: 'findings',
        durationMs: 1,
        findings: mine.map((s) => ({
          ...s,
          code: s.code as never,
          title: s.code,
          detail: 'd',
          evidence: {},
          files: [],
        })),
      });
    }
    if (finish) await finishRelease(c, releaseId, 'warning');
  });
}

async function release(repo: string, specs: Spec[]): Promise<number> {
  const { release: r } = await upsertRelease(pool, repo, repo.length.toString(16).padStart(40, 'a'), 'webhook');
  await storeAttempt(r.id, specs);
  return r.id;
}

const ids: Record<string, number> = {};
const mutes: Record<string, number> = {};

before(async () => {
  env = await testEnv();
  pool = createPool(env.databaseUrl);
  ids.one = await release('acme/one', [PAD, EOS, CFG]);
  ids.two = await release('acme/two', [PAD, EOS]);
  ids.three = await release('other/three', [PAD]);
  ids.hidden = await release('acme/hidden', [PAD]);
  await pool.query(`UPDATE models SET private = true WHERE repo = 'acme/hidden'`);
  // other/three checked again: only the second attempt's finding is current.
  assert.equal(await startRecheck(pool, ids.three), 2);
  await storeAttempt(ids.three, [CFG]);
  await withTransaction(pool, async (c) => {
    const mute = async (key: string, scope: 'model' | 'org', target: string, code: string): Promise<void> => {
      const m = await createMute(c, { scope, target, code, reason: 'test', createdBy: 'test' });
      mutes[key] = m!.id;
    };
    await mute('padOne', 'model', 'acme/one', PAD.code);
    await mute('padAcme', 'org', 'acme', PAD.code);
    // A lifted mute silences nothing; an org whose name is a prefix of another org's covers only its own models.
    await mute('eosAcme', 'org', 'acme', EOS.code);
    await liftMute(c, mutes.eosAcme, 'test', 'fixed');
    await mute('padAcm', 'org', 'acm', PAD.code);
    await mute('cfgTwo', 'model', 'acme/two', CFG.code);
  });
  // As the mute routes do after each mute: verdicts and the timeline's stored counts decided again.
  for (const [scope, target] of [
    ['model', 'acme/one'],
    ['org', 'acme'],
    ['org', 'acm'],
    ['model', 'acme/two'],
  ] as const)
    await reapplyVerdicts(pool, scope, target);
});

after(async () => {
  await pool.end();
  await env.cleanup();
});

const byCode = (fs: StoredFinding[]): Record<string, number | null> =>
  Object.fromEntries(fs.map((f) => [f.code, f.muteId]));

describe('current_findings: which mute silences a finding', () => {
  test('a model mute wins over its org mute, an org mute covers its models, lifted mutes and other orgs do not', async () => {
    const one = await listFindings(pool, ids.one);
    assert.equal(one.length, 3, 'each finding once, though a model and an org mute both match PAD_EQ_EOS');
    assert.deepEqual(byCode(one), { EOS_MISMATCH: null, PAD_EQ_EOS: mutes.padOne, CONFIG_CHANGED: null });
    assert.deepEqual(byCode(await listFindings(pool, ids.two)), { EOS_MISMATCH: null, PAD_EQ_EOS: mutes.padAcme });
    assert.deepEqual(byCode(await listFindings(pool, ids.three)), { CONFIG_CHANGED: null }, 'current attempt only');
  });

  test("the model page's counts leave out muted findings and earlier attempts", async () => {
    const counts = async (repo: string, id: number) =>
      (await modelView(pool, repo, { includePrivate: false, limit: 50 }))?.counts.get(id);
    assert.deepEqual(await counts('acme/one', ids.one), { critical: 1, warning: 0, info: 1 });
    assert.deepEqual(await counts('acme/two', ids.two), { critical: 1, warning: 0, info: 0 });
    assert.deepEqual(await counts('other/three', ids.three), { critical: 0, warning: 0, info: 1 });
  });

  test('mutes are read by joins, not by a subquery run for every finding', async () => {
    const r = await pool.query(`EXPLAIN (FORMAT JSON) SELECT * FROM current_findings WHERE release_id = $1`, [ids.one]);
    const plan = JSON.stringify(r.rows[0]['QUERY PLAN']);
    assert.match(plan, /"Relation Name":"mutes"/);
    assert.doesNotMatch(plan, /"Subplan Name"/);
  });

  test('each finding carries its check run attempt (migration 0011), so the view does not read check_runs', async () => {
    const r = await pool.query(`EXPLAIN (FORMAT JSON) SELECT * FROM current_findings WHERE release_id = $1`, [ids.one]);
    assert.doesNotMatch(JSON.stringify(r.rows[0]['QUERY PLAN']), /"Relation Name":"check_runs"/);
    // other/three was checked twice: its findings keep the attempt of their run, whatever the writer sends.
    const attempts = async (): Promise<string[]> =>
      (
        await pool.query<{ a: string }>(
          `SELECT f.code || ':' || f.attempt || '=' || cr.attempt AS a FROM findings f
           JOIN check_runs cr ON cr.id = f.check_run_id WHERE f.release_id = $1 ORDER BY f.id`,
          [ids.three],
        )
      ).rows.map((x) => x.a);
    assert.deepEqual(await attempts(), ['PAD_EQ_EOS:1=1', 'CONFIG_CHANGED:2=2']);
    const run = await pool.query<{ id: string }>(
      `SELECT id FROM check_runs WHERE release_id = $1 AND attempt = 1 LIMIT 1`,
      [ids.three],
    );
    // Written and looked at in a transaction that is rolled back, so the other tests see the fixtures as they were.
    await withClient(pool, async (c) => {
      await c.query('BEGIN');
      try {
        await c.query(
          `INSERT INTO findings (check_run_id, release_id, code, severity, check_id, title, detail, evidence, attempt)
           VALUES ($1, $2, 'X', 'info', 'x', 't', 'd', '{}', 2)`,
          [run.rows[0].id, ids.three],
        );
        await c.query(`UPDATE findings SET attempt = 2 WHERE release_id = $1`, [ids.three]);
        assert.deepEqual(
          (
            await c.query<{ a: string }>(
              `SELECT f.code || ':' || f.attempt AS a FROM findings f WHERE f.release_id = $1 ORDER BY f.id`,
              [ids.three],
            )
          ).rows.map((x) => x.a),
          ['PAD_EQ_EOS:1', 'CONFIG_CHANGED:2', 'X:1'],
        );
      } finally {
        await c.query('ROLLBACK');
      }
    });
    assert.deepEqual(await attempts(), ['PAD_EQ_EOS:1=1', 'CONFIG_CHANGED:2=2']);
    await assert.rejects(
      pool.query(
        `INSERT INTO findings (check_run_id, release_id, code, severity, check_id, title, detail, evidence)
         VALUES (-1, $1, 'X', 'info', 'x', 't', 'd', '{}')`,
        [ids.three],
      ),
      (e: Error & { code?: string }) => e.code === '23503' && /check run -1/.test(e.message),
    );
  });
});

describe('findings search', () => {
  /** Every current finding, newest first, as the search should return it. */
  async function everything(): Promise<(StoredFinding & { repo: string; private: boolean })[]> {
    const out: (StoredFinding & { repo: string; private: boolean })[] = [];
    for (const [key, repo] of [
      ['one', 'acme/one'],
      ['two', 'acme/two'],
      ['three', 'other/three'],
      ['hidden', 'acme/hidden'],
    ])
      for (const f of await listFindings(pool, ids[key])) out.push({ ...f, repo, private: key === 'hidden' });
    return out.sort((a, b) => b.id - a.id);
  }
  const shape = (f: FoundFinding) => ({ id: f.id, repo: f.repo, code: f.code, muteId: f.muteId });

  test('each filter and their combinations give the findings of the current attempts, private ones with the token', async () => {
    const all = await everything();
    const created = new Map(
      (await pool.query<{ id: string; t: Date }>('SELECT id, created_at AS t FROM findings')).rows.map((x) => [
        Number(x.id),
        x.t.getTime(),
      ]),
    );
    const since = new Date(created.get(all[2].id)!);
    const cases: [Omit<FindingFilter, 'limit'>, (f: (typeof all)[number]) => boolean][] = [
      [{ includePrivate: false }, (f) => !f.private],
      [{ includePrivate: true }, () => true],
      [{ includePrivate: false, code: PAD.code }, (f) => !f.private && f.code === PAD.code],
      [{ includePrivate: true, code: PAD.code }, (f) => f.code === PAD.code],
      [{ includePrivate: false, severity: 'critical' }, (f) => !f.private && f.severity === 'critical'],
      [{ includePrivate: false, check: CFG.check }, (f) => !f.private && f.check === CFG.check],
      [{ includePrivate: false, beforeId: all[1].id }, (f) => !f.private && f.id < all[1].id],
      [
        { includePrivate: true, since, code: PAD.code },
        (f) => f.code === PAD.code && created.get(f.id)! >= since.getTime(),
      ],
      [{ includePrivate: false, since: new Date(Date.now() + 86_400_000) }, () => false],
    ];
    for (const [filter, keep] of cases) {
      const expected = all.filter(keep).map((f) => ({ id: f.id, repo: f.repo, code: f.code, muteId: f.muteId }));
      const got = await searchFindings(pool, { ...filter, limit: DEFAULT_SEARCH_LIMIT });
      assert.deepEqual(got.map(shape), expected, JSON.stringify(filter));
      const two = await searchFindings(pool, { ...filter, limit: 2 });
      assert.deepEqual(two.map(shape), expected.slice(0, 2), `${JSON.stringify(filter)}, limit 2`);
    }
    assert.ok(all.some((f) => f.muteId !== null) && all.some((f) => f.muteId === null), 'both kinds are covered');
  });

  test('the default page is a statement per code, check or severity, planned once for that value', async () => {
    const one = createPool(env.databaseUrl, undefined, 1);
    const statements = async () =>
      (
        await one.query<{ statement: string; generic_plans: string; custom_plans: string }>(
          `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
           WHERE statement LIKE '%FROM current_findings cf%' ORDER BY statement`,
        )
      ).rows;
    try {
      const page = { includePrivate: false, limit: DEFAULT_SEARCH_LIMIT };
      const first = await searchFindings(one, { ...page, code: PAD.code });
      for (let i = 0; i < 8; i++) {
        const again = await searchFindings(one, { ...page, code: i % 2 ? EOS.code : PAD.code });
        if (i % 2 === 0) assert.deepEqual(again, first, 'the same answer from the reused plan');
      }
      let rows = await statements();
      assert.equal(rows.length, 2, 'one statement per code');
      assert.ok(
        rows.some((r) => r.statement.includes(`cf.code = '${PAD.code}'`)),
        'the code is in the text',
      );
      for (const r of rows) {
        assert.equal(Number(r.custom_plans), 0, 'no plan made for each request');
        assert.ok(Number(r.generic_plans) >= 4, 'planned once, then reused');
      }
      // With a cursor or a since every value is a parameter: one statement for every code.
      const cursor = await searchFindings(one, { ...page, code: PAD.code, beforeId: first[0].id });
      assert.deepEqual(cursor, first.slice(1));
      await searchFindings(one, { ...page, code: EOS.code, beforeId: first[0].id });
      const since = await searchFindings(one, { ...page, code: PAD.code, since: new Date(0) });
      assert.deepEqual(since, first);
      rows = await statements();
      assert.equal(rows.length, 4);
      assert.equal(rows.filter((r) => r.statement.includes('cf.code = $1::text')).length, 2);
      // A value the API would refuse is never written into the text (a parameter, whatever it holds).
      assert.deepEqual(await searchFindings(one, { ...page, code: "PAD_EQ_EOS' OR ''='" }), []);
      assert.deepEqual(await searchFindings(one, { ...page, check: 'pad-eq-eos; DROP TABLE findings' }), []);
      assert.equal((await statements()).filter((r) => r.statement.includes('cf.code = $1::text')).length, 3);
    } finally {
      await one.end();
    }
  });
});

// Last: it adds a release the search tests above do not expect.
describe('stored timeline counts', () => {
  test('the stored counts follow a mute that leaves the verdict as it was, a recheck and its end', async () => {
    const id = await release('other/four', [EOS, CFG]);
    const view = async () => (await modelView(pool, 'other/four', { includePrivate: false, limit: 50 }))!;
    await reapplyVerdicts(pool, 'model', 'other/four'); // the fixture finishes every release as 'warning'
    assert.deepEqual((await view()).counts.get(id), { critical: 1, warning: 0, info: 1 });
    const mute = await withTransaction(pool, (c) =>
      createMute(c, { scope: 'model', target: 'other/four', code: CFG.code, reason: 'test', createdBy: 'test' }),
    );
    assert.equal(await reapplyVerdicts(pool, 'model', 'other/four'), 0, 'still critical');
    assert.deepEqual((await view()).counts.get(id), { critical: 1, warning: 0, info: 0 });
    await withTransaction(pool, (c) => liftMute(c, mute!.id, 'test', null));
    await reapplyVerdicts(pool, 'model', 'other/four');
    assert.deepEqual((await view()).counts.get(id), { critical: 1, warning: 0, info: 1 });

    assert.equal(await startRecheck(pool, id), 2);
    assert.equal((await view()).counts.has(id), false, 'no counts while the recheck runs');
    await storeAttempt(id, [PAD]);
    assert.deepEqual((await view()).counts.get(id), { critical: 0, warning: 1, info: 0 }, 'the second attempt only');
  });

  test('a failed release keeps counts of the findings its runs stored, and they follow a mute', async () => {
    const id = await release('other/five', [PAD]);
    assert.equal(await startRecheck(pool, id), 2);
    await storeAttempt(id, [EOS, CFG], false);
    await markFailed(pool, id, 'gave up after 3 attempts');
    const view = async () => (await modelView(pool, 'other/five', { includePrivate: false, limit: 50 }))!;
    assert.equal((await view()).verdictRelease?.verdict, 'error');
    assert.deepEqual((await view()).counts.get(id), { critical: 1, warning: 0, info: 1 });
    await withTransaction(pool, (c) =>
      createMute(c, { scope: 'model', target: 'other/five', code: CFG.code, reason: 'test', createdBy: 'test' }),
    );
    assert.equal(await reapplyVerdicts(pool, 'model', 'other/five'), 0, 'a failed release stays error');
    assert.deepEqual((await view()).counts.get(id), { critical: 1, warning: 0, info: 0 });
  });
});

// Last: it adds releases and moves findings in time, which the tests above do not expect.
describe('findings search order (migration 0012)', () => {
  test('newest first by (created_at, id), also where ids disagree with time; cursors visit each finding once', async () => {
    const a = await release('order/a', [PAD, EOS, CFG]);
    const b = await release('order/b', [PAD, EOS]);
    // A finding written by a transaction that began before another's (an earlier created_at) can get a higher id.
    await pool.query(
      `UPDATE findings SET created_at = created_at - interval '1 hour' * (id % 3) WHERE release_id = ANY($1)`,
      [[a, b]],
    );
    const rows = (
      await pool.query<{ id: string; code: string }>(
        `SELECT f.id, f.code FROM findings f JOIN releases r ON r.id = f.release_id JOIN models m ON m.id = r.model_id
         WHERE f.attempt = r.check_attempt AND NOT m.private ORDER BY f.created_at DESC, f.id DESC`,
      )
    ).rows.map((x) => ({ id: Number(x.id), code: x.code }));
    const ids = rows.map((x) => x.id);
    assert.notDeepEqual(
      ids,
      [...ids].sort((x, y) => y - x),
      'the fixture has ids out of time order',
    );
    const search = (f: Partial<FindingFilter>) =>
      searchFindings(pool, { includePrivate: false, limit: DEFAULT_SEARCH_LIMIT, ...f });
    assert.deepEqual(
      (await search({})).map((f) => f.id),
      ids,
    );
    for (const code of [undefined, PAD.code]) {
      const expected = rows.filter((x) => code === undefined || x.code === code).map((x) => x.id);
      for (const limit of [1, 2, 3]) {
        const seen: number[] = [];
        let beforeId: number | undefined;
        for (;;) {
          const page = await search({ code, beforeId, limit });
          seen.push(...page.map((f) => f.id));
          if (page.length < limit) break;
          beforeId = page[page.length - 1].id;
        }
        assert.deepEqual(seen, expected, `code ${code}, pages of ${limit}`);
      }
    }
    // A cursor whose finding is gone continues at the time of the next older id, and from that finding on (both
    // came from one check run here, so the page is the one the cursor would have given).
    const gone = ids[2];
    const expectedAfter = (await search({ beforeId: gone })).map((f) => f.id);
    const nextOlder = Math.max(...ids.filter((x) => x < gone));
    assert.equal(expectedAfter[0], nextOlder, 'the fixture puts the next older id right after it');
    await pool.query('DELETE FROM findings WHERE id = $1', [gone]);
    assert.deepEqual(
      (await search({ beforeId: gone })).map((f) => f.id),
      expectedAfter,
    );
    assert.deepEqual(await search({ beforeId: Math.min(...ids) - 1_000_000 }), [], 'nothing older');
  });

  test('with a code or a check, one plan fits every value: since and cursor bound one index range', async () => {
    // Enough findings that the planner weighs its indexes: 1,000 releases of 200 models with 40 findings each, over
    // 20 codes and 10 checks, one a minute, ids in time order.
    await pool.query(
      `WITH m AS (INSERT INTO models (repo, author) SELECT 'bulk/m' || i, 'bulk' FROM generate_series(1, 200) i
                  RETURNING id, repo),
            r AS (INSERT INTO releases (model_id, repo, sha, source, status)
                  SELECT m.id, m.repo, md5(m.repo || k), 'webhook', 'done' FROM m, generate_series(1, 5) k RETURNING id),
            c AS (INSERT INTO check_runs (release_id, check_id, queue) SELECT id, 'bulk', 'checks' FROM r
                  RETURNING id, release_id)
       INSERT INTO findings (check_run_id, release_id, code, severity, check_id, title, detail, evidence, created_at)
       SELECT c.id, c.release_id, 'BULK_' || (n % 20), 'info', 'bulk-' || (n % 10), 't', 'd', '{}',
              now() - interval '1 minute' * (40000 - n)
       FROM (SELECT id, release_id, row_number() OVER (ORDER BY id) AS k FROM c) c, generate_series(1, 40) j,
            LATERAL (SELECT (c.k - 1) * 40 + j AS n) x
       ORDER BY n`,
    );
    await pool.query('ANALYZE models, releases, check_runs, findings');
    const one = createPool(env.databaseUrl, undefined, 1);
    try {
      const since = new Date(Date.now() - 3 * 86_400_000);
      for (const [filter, index] of [
        [{ code: 'BULK_3', since }, 'findings_code_created_idx'],
        [{ code: 'BULK_3', beforeId: 1 }, 'findings_code_created_idx'],
        [{ check: 'bulk-7', since, beforeId: 1 }, 'findings_check_created_idx'],
      ] as const) {
        const q = searchQuery({ includePrivate: false, limit: DEFAULT_SEARCH_LIMIT, ...filter });
        const plan = await withClient(one, async (c) => {
          await c.query(`SET plan_cache_mode = force_generic_plan`);
          await c.query(`PREPARE generic AS ${q.text}`);
          try {
            const args = q.values.map((v) => c.escapeLiteral(v instanceof Date ? v.toISOString() : String(v)));
            const r = await c.query(`EXPLAIN (FORMAT JSON) EXECUTE generic(${args.join(', ')})`);
            return JSON.stringify(r.rows[0]['QUERY PLAN']);
          } finally {
            await c.query('DEALLOCATE generic');
            await c.query('RESET plan_cache_mode');
          }
        });
        const scan = new RegExp(`"Index Name":"${index}"[^}]*"Index Cond":"[^"]*created_at`);
        assert.match(plan, scan, `${JSON.stringify(filter)}: ${plan}`);
        assert.doesNotMatch(plan, /"Node Type":"Sort"/, 'read in order, not sorted');
      }
    } finally {
      await one.end();
    }
  });
});
