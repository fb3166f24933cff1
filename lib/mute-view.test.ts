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
import { createPool, withTransaction } from './db.ts';
import type { Pool } from './db.ts';
import { DEFAULT_SEARCH_LIMIT, searchFindings } from './findings.repo.ts';
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
