/**
 * A check that passes may keep what it measured (the base-model fingerprint of an ordinary fine-tune): stored once
 * per release under the check's id, drawn on the release page over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../services/api/app.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { createPool, withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { createQueues } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { loadReleaseEvidence } from '../lib/release-evidence.repo.ts';
import { finishRelease, upsertRelease } from '../lib/releases.repo.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

let env: TestEnv;
let pool: Pool;
let queues: Queues;
let app: FastifyInstance;

before(async () => {
  env = await testEnv({ hubUrl: 'http://hub.test' });
  pool = createPool(env.cfg.databaseUrl);
  queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
  app = await buildApp({ pool, queues, cfg: env.cfg, log: silentLog });
});

after(async () => {
  await app.close();
  await queues.close();
  await pool.end();
  await env.cleanup();
});

const tensors = (relativeDiff: number) =>
  ['q_proj', 'v_proj', 'up_proj'].map((module) => ({
    tensor: `model.layers.0.${module}.weight`,
    layer: 0,
    module,
    status: 'full-rank',
    rank: 32,
    relativeDiff,
  }));

test('a passed base-fingerprint run keeps its evidence, and the release page draws it', async () => {
  const sha = 'f'.repeat(40);
  const { release } = await upsertRelease(pool, 'acme/fine-tune', sha, 'manual');
  const [run] = await createCheckRuns(pool, release.id, [{ id: 'base-fingerprint', queue: 'tensor' }]);
  const evidence = { base: `acme/base@${'e'.repeat(40)}`, backend: 'cpu', tensors: tensors(0.031) };
  await withTransaction(pool, async (c) => {
    await storeResult(c, run, { check: 'base-fingerprint', status: 'passed', durationMs: 900, findings: [], evidence });
    await finishRelease(c, release.id, 'ok');
  });
  const stored = await loadReleaseEvidence(pool, release.id);
  assert.deepEqual(stored.get('base-fingerprint'), evidence);

  const page = await app.inject(`/models/acme/fine-tune/releases/${sha}`);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<section id="base-diff">/);
  assert.equal((page.body.match(/class="diff-bar"/g) ?? []).length, 3);
  assert.match(page.body, /No finding: a full-rank difference/);

  // A passed run without evidence (another check) stores nothing new.
  const [other] = await createCheckRuns(pool, release.id, [{ id: 'eos-vs-template', queue: 'checks' }]);
  await withTransaction(pool, (c) =>
    storeResult(c, other, { check: 'eos-vs-template', status: 'passed', durationMs: 5, findings: [] }),
  );
  assert.deepEqual([...(await loadReleaseEvidence(pool, release.id)).keys()], ['base-fingerprint']);
});
