/**
 * The base-model fingerprint in the pipeline: a base and a merged-LoRA release that declares it (card base_model)
 * are published on the local Hub mirror; the runner (torch backend) reads both by ranged reads and stores
 * LOW_RANK_DELTA with the rank per module, the bytes read, and the backend and device.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BASE_FIXTURES, LORA_MODULES, writeFingerprintBase } from '../infra/fixtures/weights/base-fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import { acceptRelease } from '../lib/pipeline/ingest.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { startStack } from '../services/processes.ts';
import type { Stack } from '../services/processes.ts';
import { eventually, silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const BASE = 'hubwatch-fixtures/fp-base';
const LORA = 'hubwatch-fixtures/fp-merged-lora';
let env: TestEnv;
let stack: Stack;
let mirror: HubMirror;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-fp-pipeline-'));
  env = await testEnv({ computeBackend: 'torch' });
  mirror = await startHubMirror({ root: join(work, 'mirror') });
  stack = await startStack({ ...env.cfg, hubUrl: mirror.url }, silentLog, { workers: true, runner: true });
});

after(async () => {
  await stack?.close();
  await mirror?.close();
  await env?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

test('a merged LoRA release that declares its base gets LOW_RANK_DELTA from the runner, with its evidence', async () => {
  writeFingerprintBase(join(work, 'base'));
  await mirror.publish(BASE, join(work, 'base'));
  BASE_FIXTURES.find((f) => f.name === 'merged-lora')!.write(join(work, 'lora'), BASE);
  const { sha } = await mirror.publish(LORA, join(work, 'lora'));
  // No webhook target here: the release is accepted the way the poller accepts one.
  await acceptRelease(stack.deps, LORA, sha, 'poller');
  const run = await eventually(
    async () =>
      (
        await stack.deps.pool.query(
          `SELECT cr.status, cr.error FROM check_runs cr JOIN releases r ON r.id = cr.release_id
            WHERE r.repo = $1 AND r.sha = $2 AND cr.check_id = 'base-fingerprint'
              AND cr.status NOT IN ('queued', 'running')`,
          [LORA, sha],
        )
      ).rows[0],
    180_000,
    'the base-fingerprint check run',
  );
  assert.equal(run.status, 'findings', run.error ?? '');
  const f = (
    await stack.deps.pool.query(
      `SELECT f.code, f.severity, f.evidence FROM findings f JOIN releases r ON r.id = f.release_id
        WHERE r.repo = $1 AND r.sha = $2 AND f.check_id = 'base-fingerprint'`,
      [LORA, sha],
    )
  ).rows;
  assert.deepEqual(
    f.map((x) => x.code),
    ['LOW_RANK_DELTA'],
  );
  const ev = f[0].evidence;
  assert.deepEqual(Object.keys(ev.modules).sort(), LORA_MODULES);
  assert.equal(ev.backend, 'torch');
  // The tiny fixture is smaller than the per-tensor sample: both sides are read whole, never more.
  assert.ok(ev.bytesRead > 0 && ev.bytesRead <= 2 * ev.releaseWeightBytes, `read ${ev.bytesRead} bytes`);
  assert.match(ev.base, new RegExp(`^${BASE}@[0-9a-f]{40}$`));
});
