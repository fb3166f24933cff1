/**
 * The delivery batcher against the real Postgres (a database of its own): deliveries written together are each
 * answered with their own row, one release and one outbox row per repo@sha however many copies share a batch, a
 * release committed by another transaction mid-statement is found by the retry, and a batch that fails leaves
 * nothing half-stored and answers every delivery in it with the error.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPool } from '../db.ts';
import type { Pool } from '../db.ts';
import { eventually, testEnv } from '../../test/helpers.ts';
import type { TestEnv } from '../../test/helpers.ts';
import { DeliveryBatcher } from './delivery-batcher.ts';
import type { BatchDelivery } from './delivery-batcher.ts';

let env: TestEnv;
let pool: Pool;

before(async () => {
  env = await testEnv();
  pool = createPool(env.databaseUrl);
});

after(async () => {
  await pool?.end();
  await env?.cleanup();
});

const sha = (n: number): string => n.toString(16).padStart(40, 'c');

/** A release delivery whose webhook id and payload carry `tag`, so a stored row can be traced to its request. */
function release(repo: string, commit: string, tag: string): BatchDelivery {
  return {
    kind: 'release',
    repo,
    sha: commit,
    reason: null,
    scope: 'repo.content',
    action: 'update',
    webhookId: tag,
    payload: { tag, repo: { name: repo, headSha: commit } },
  };
}

function ignored(tag: string): BatchDelivery {
  return {
    kind: 'ignored',
    repo: null,
    sha: null,
    reason: `ignored ${tag}`,
    scope: 'discussion',
    action: 'create',
    webhookId: tag,
    payload: { tag },
  };
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await pool.query<{ n: number }>(sql, params)).rows[0].n;
}

test('concurrent deliveries, copies of one release in a batch: one release and outbox row each, every answer its own', async () => {
  const batcher = new DeliveryBatcher(pool, { maxBatch: 64 });
  // 30 releases over 6 repos, each delivered 5 times, and 25 ignored deliveries, interleaved.
  const plan: BatchDelivery[] = [];
  for (let copy = 0; copy < 5; copy++) {
    for (let r = 0; r < 30; r++) plan.push(release(`batch/repo-${r % 6}`, sha(r), `d-${r}-${copy}`));
    for (let k = 0; k < 5; k++) plan.push(ignored(`i-${copy}-${k}`));
  }
  const answers = await Promise.all(plan.map((d) => batcher.store(d)));
  assert.ok(batcher.statements < plan.length / 10, `${plan.length} deliveries in ${batcher.statements} statements`);
  assert.ok(batcher.statements >= Math.ceil(plan.length / 64), 'no statement holds more than maxBatch');

  const stored = await pool.query<{ id: string; webhook_id: string; tag: string; outcome: string; release_id: string }>(
    "SELECT id, webhook_id, payload->>'tag' AS tag, outcome, release_id FROM webhook_deliveries",
  );
  assert.equal(stored.rows.length, plan.length);
  const byId = new Map(stored.rows.map((r) => [Number(r.id), r]));
  const releases = await pool.query<{ id: string; repo: string; sha: string }>('SELECT id, repo, sha FROM releases');
  assert.equal(releases.rows.length, 30);
  const releaseOf = new Map(releases.rows.map((r) => [`${r.repo}@${r.sha}`, Number(r.id)]));
  assert.equal(await count('SELECT count(*)::int AS n FROM release_outbox'), 30);
  assert.equal(await count('SELECT count(*)::int AS n FROM models'), 6);

  const firsts = new Map<number, number>();
  plan.forEach((d, i) => {
    const a = answers[i];
    const row = byId.get(a.deliveryId);
    assert.ok(row, `delivery ${d.webhookId} answered with a stored id`);
    assert.equal(row.webhook_id, d.webhookId, 'answered with its own row');
    assert.equal(row.tag, d.webhookId);
    assert.equal(row.outcome, a.outcome);
    if (d.kind === 'ignored') {
      assert.deepEqual([a.outcome, a.releaseId], ['ignored', null]);
      return;
    }
    assert.equal(a.releaseId, releaseOf.get(`${d.repo}@${d.sha}`));
    assert.equal(Number(row.release_id), a.releaseId);
    if (a.outcome === 'release') firsts.set(a.releaseId!, (firsts.get(a.releaseId!) ?? 0) + 1);
    else assert.equal(a.outcome, 'duplicate');
  });
  assert.equal(firsts.size, 30, 'each release announced as new once');
  assert.deepEqual([...new Set(firsts.values())], [1]);
  // The first delivery of each release, in submission order, is the one that created it.
  for (let r = 0; r < 30; r++)
    assert.equal(answers[plan.findIndex((d) => d.webhookId === `d-${r}-0`)].outcome, 'release');

  // Replays of stored releases are duplicates with nothing new for the outbox.
  await pool.query('DELETE FROM release_outbox');
  const replay = await Promise.all([0, 1, 2].map((r) => batcher.store(release(`batch/repo-${r}`, sha(r), `re-${r}`))));
  assert.deepEqual(
    replay.map((a) => [a.outcome, a.releaseId]),
    [0, 1, 2].map((r) => ['duplicate', releaseOf.get(`batch/repo-${r}@${sha(r)}`)]),
  );
  assert.equal(await count('SELECT count(*)::int AS n FROM release_outbox'), 0);
  await batcher.close();
});

for (const modelExists of [false, true])
  test(`a release committed by another transaction during the statement is found by the retry (model ${modelExists ? 'stored before' : 'new too'})`, async () => {
    const batcher = new DeliveryBatcher(pool);
    const repo = `race/model-${modelExists}`;
    if (modelExists) await pool.query("INSERT INTO models (repo, author) VALUES ($1, 'race')", [repo]);
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      if (!modelExists) await other.query("INSERT INTO models (repo, author) VALUES ($1, 'race')", [repo]);
      const id = (
        await other.query<{ id: string }>(
          "INSERT INTO releases (model_id, repo, sha, source) SELECT id, repo, $2, 'poller' FROM models WHERE repo = $1 RETURNING id",
          [repo, sha(1)],
        )
      ).rows[0].id;
      const answer = batcher.store(release(repo, sha(1), `race-${modelExists}`));
      // The statement waits on the uncommitted row (the model's or the release's insert); committed now, that row
      // is not in the statement's snapshot.
      await eventually(
        async () =>
          (
            await pool.query(
              "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
          ).rowCount === 1,
        10_000,
        'the batch statement to wait on the lock',
      );
      await other.query('COMMIT');
      const a = await answer;
      assert.deepEqual([a.outcome, a.releaseId], ['duplicate', Number(id)]);
      assert.equal(batcher.statements, 2, 'settled by one retry');
      assert.equal(await count('SELECT count(*)::int AS n FROM webhook_deliveries WHERE repo = $1', [repo]), 1);
      assert.equal(await count('SELECT count(*)::int AS n FROM releases WHERE repo = $1', [repo]), 1);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
    await batcher.close();
  });

test('a batch whose statement fails: every delivery in it rejected, nothing of it stored', async () => {
  // Fails a whole statement from inside Postgres, as a lost connection or a full disk would.
  await pool.query(`CREATE FUNCTION fail_all() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.webhook_id = 'fail-all' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
  await pool.query(
    'CREATE TRIGGER fail_all BEFORE INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION fail_all()',
  );
  try {
    const batcher = new DeliveryBatcher(pool);
    // The first delivery is in flight alone; the others queue behind it and share the next statement.
    const first = batcher.store(release('fail/first', sha(1), 'first'));
    await new Promise((r) => setImmediate(r));
    const batch = [
      release('fail/a', sha(2), 'a'),
      release('fail/a', sha(2), 'a-copy'),
      release('fail/b', sha(3), 'fail-all'),
      ignored('fail-ignored'),
    ].map((d) => batcher.store(d));
    const settled = await Promise.allSettled(batch);
    assert.equal((await first).outcome, 'release');
    assert.deepEqual(
      settled.map((s) => (s.status === 'rejected' ? (s.reason as Error).message : s.status)),
      Array(4).fill('refused by the test'),
    );
    assert.equal(batcher.statements, 2);
    assert.equal(await count("SELECT count(*)::int AS n FROM models WHERE repo IN ('fail/a', 'fail/b')"), 0);
    assert.equal(await count("SELECT count(*)::int AS n FROM releases WHERE repo IN ('fail/a', 'fail/b')"), 0);
    assert.equal(
      await count(
        "SELECT count(*)::int AS n FROM release_outbox o JOIN releases r ON r.id = o.release_id WHERE r.repo LIKE 'fail/%'",
      ),
      1,
      'only the first delivery’s release',
    );
    assert.equal(
      await count(
        "SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id IN ('a', 'a-copy', 'fail-all', 'fail-ignored')",
      ),
      0,
    );
    // The batcher goes on: the next deliveries are written.
    assert.equal((await batcher.store(release('fail/a', sha(2), 'again'))).outcome, 'release');
    await batcher.close();
  } finally {
    await pool.query('DROP TRIGGER fail_all ON webhook_deliveries');
    await pool.query('DROP FUNCTION fail_all()');
  }
});

test('a delivery Postgres refuses as data fails alone: the others of its batch are stored', async () => {
  const batcher = new DeliveryBatcher(pool);
  const first = batcher.store(release('poison/first', sha(1), 'p-first'));
  await new Promise((r) => setImmediate(r));
  // NUL cannot be stored in jsonb (ingest escapes it first; here it reaches Postgres, as a missed case would).
  const poison = { ...release('poison/bad', sha(2), 'p-bad'), payload: { text: 'a\u0000b' } };
  const deliveries = [
    ...Array.from({ length: 6 }, (_, i) => release(`poison/ok-${i}`, sha(10 + i), `p-${i}`)),
    poison,
    ignored('p-ignored'),
  ];
  const settled = await Promise.allSettled(deliveries.map((d) => batcher.store(d)));
  await first;
  assert.deepEqual(
    settled.map((s) => s.status),
    [...Array(6).fill('fulfilled'), 'rejected', 'fulfilled'],
  );
  assert.match(((settled[6] as PromiseRejectedResult).reason as Error).message, /unicode|\\u0000/i);
  assert.ok(batcher.statements > 2, 'the batch was split');
  const stored = await pool.query<{ webhook_id: string }>(
    "SELECT webhook_id FROM webhook_deliveries WHERE webhook_id LIKE 'p-%' ORDER BY webhook_id",
  );
  assert.deepEqual(stored.rows.map((r) => r.webhook_id).sort(), [
    'p-0',
    'p-1',
    'p-2',
    'p-3',
    'p-4',
    'p-5',
    'p-first',
    'p-ignored',
  ]);
  assert.equal(await count("SELECT count(*)::int AS n FROM releases WHERE repo = 'poison/bad'"), 0);
  await batcher.close();
});

test('deliveries that arrive together are written together, within maxBatch and maxBatchBytes', async () => {
  const batcher = new DeliveryBatcher(pool, { maxBatch: 4, maxBatchBytes: 2500 });
  const small = await Promise.all(
    Array.from({ length: 10 }, (_, i) => batcher.store(release(`bound/a-${i}`, sha(i), `b-${i}`), 100)),
  );
  assert.equal(batcher.statements, 3, 'batches of 4, 4 and 2');
  const large = await Promise.all(
    Array.from({ length: 5 }, (_, i) => batcher.store(release(`bound/b-${i}`, sha(i), `B-${i}`), 1000)),
  );
  assert.equal(batcher.statements, 3 + 3, 'batches of 2, 2 and 1 (2,500 bytes at most)');
  assert.deepEqual(
    [...small, ...large].map((a) => a.outcome),
    Array(15).fill('release'),
  );
  // A lone delivery larger than the bound is written alone, not refused.
  assert.equal((await batcher.store(release('bound/huge', sha(1), 'huge'), 10_000)).outcome, 'release');
  await batcher.close();
});

test('a payload of JSON null, or none, is stored as jsonb null', async () => {
  const batcher = new DeliveryBatcher(pool);
  const answers = await Promise.all([
    batcher.store({ ...ignored('null-payload'), payload: null }),
    batcher.store({ ...ignored('no-payload'), payload: undefined }),
  ]);
  const rows = await pool.query<{ id: string; payload: string }>(
    'SELECT id, payload::text FROM webhook_deliveries WHERE id = ANY($1::bigint[]) ORDER BY id',
    [answers.map((a) => a.deliveryId)],
  );
  assert.deepEqual(
    rows.rows.map((r) => r.payload),
    ['null', 'null'],
  );
  await batcher.close();
});
