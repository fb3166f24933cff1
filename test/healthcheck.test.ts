/** `hubwatch healthcheck`, the container health check: real Postgres and Redis, a real HTTP server for --url. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { runHealthcheck } from '../services/healthcheck.ts';

const DB = process.env.HUBWATCH_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = 'redis://127.0.0.1:6379';
let base: string;
const server = createServer((req, res) => {
  res.statusCode = req.url === '/readyz' ? 200 : 503;
  res.end();
});

before(async () => {
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((res) => server.close(() => res())));

test('without --url: 0 when Postgres and Redis answer, 1 when one of them does not', async () => {
  assert.equal(await runHealthcheck([], { HUBWATCH_DATABASE_URL: DB, HUBWATCH_REDIS_URL: REDIS }), 0);
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  assert.equal(await runHealthcheck([], { HUBWATCH_DATABASE_URL: DB, HUBWATCH_REDIS_URL: 'redis://127.0.0.1:1' }), 1);
  assert.equal(
    await runHealthcheck([], { HUBWATCH_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', HUBWATCH_REDIS_URL: REDIS }),
    1,
  );
});

test('with --url: 0 on a 2xx answer, 1 on a 503 or no answer', async () => {
  assert.equal(await runHealthcheck(['--url', `${base}/readyz`]), 0);
  assert.equal(await runHealthcheck(['--url', `${base}/down`]), 1);
  assert.equal(await runHealthcheck(['--url', 'http://127.0.0.1:1/readyz']), 1);
});

test('a bad option is a usage error (2)', async () => {
  assert.equal(await runHealthcheck(['--nope']), 2);
});
