import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import pg from 'pg';
import { createPool, ensureDatabase } from '../lib/db.ts';
import { migrate } from '../lib/migrate.ts';

const name = `hubwatch_mig_${randomBytes(4).toString('hex')}`;
const url = `postgres://postgres@127.0.0.1:5432/${name}`;

after(async () => {
  const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.end();
});

test('two processes migrating a new database at once apply each migration exactly once', async () => {
  await Promise.all([ensureDatabase(url), ensureDatabase(url)]);
  const a = createPool(url);
  const b = createPool(url);
  try {
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    const applied = [...ra, ...rb];
    const rows = (await a.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version')).rows.map(
      (r) => r.name,
    );
    assert.deepEqual(applied.sort(), rows.sort(), 'every migration applied by exactly one of the two');
    assert.ok(rows.includes('0001-init.sql'));
    assert.deepEqual(await migrate(a), [], 'a third run applies nothing');
    const t = await a.query(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('models','releases','webhook_deliveries','snapshots','check_runs','findings','alerts','watches')`,
    );
    assert.equal(t.rows[0].n, 8);
  } finally {
    await a.end();
    await b.end();
  }
});
