/**
 * The previous revision is found from the stored snapshots in push order, even while its checks are still running:
 * two pushes seconds apart must still give CONFIG_CHANGED on the second.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { listCheckRuns, listFindings } from '../lib/check-runs.repo.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { acceptRelease } from '../lib/pipeline/ingest.ts';
import { processCheckRun } from '../lib/pipeline/process-check-run.ts';
import { processRelease } from '../lib/pipeline/process-release.ts';
import { createQueues } from '../lib/queues.ts';
import { getRelease } from '../lib/releases.repo.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

// Its second revision changes rms_norm_eps and rope_theta (infra/fixtures/fixtures.ts).
const REPO = 'hubwatch-fixtures/tiny-llama3-finetune';

let env: TestEnv;
let mirror: HubMirror;
let pool: Pool;
let deps: PipelineDeps;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-previous-'));
  env = await testEnv();
  mirror = await startHubMirror({ root: join(work, 'mirror') });
  pool = createPool(env.databaseUrl);
  const cfg = { ...env.cfg, hubUrl: mirror.url };
  deps = { pool, queues: createQueues(cfg.redisUrl, cfg.queuePrefix), cfg, log: silentLog };
});

after(async () => {
  await deps?.queues.close();
  await pool?.end();
  await mirror?.close();
  await env?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function publish(rev: number): Promise<string> {
  const dir = join(work, `rev-${rev}`);
  buildFixture(fixtureByRepo(REPO), rev, dir);
  return (await mirror.publish(REPO, dir)).sha;
}

describe('previous revision by push order', () => {
  test('two pushes seconds apart: the second is compared with the first while its checks still run', async () => {
    const first = await acceptRelease(deps, REPO, await publish(0), 'webhook');
    const second = await acceptRelease(deps, REPO, await publish(1), 'webhook');
    // No worker consumes the queues: the first release stays 'checking' with its snapshot stored.
    await processRelease(deps, first.releaseId);
    assert.equal((await getRelease(pool, first.releaseId))?.status, 'checking');
    await processRelease(deps, second.releaseId);
    const r2 = await getRelease(pool, second.releaseId);
    assert.equal(r2?.previousReleaseId, first.releaseId);

    const run = (await listCheckRuns(pool, second.releaseId)).find((r) => r.checkId === 'config-changed');
    assert.ok(run, 'config-changed run created');
    await processCheckRun(deps, {}, run.id);
    const changed = (await listFindings(pool, second.releaseId)).filter((f) => f.code === 'CONFIG_CHANGED');
    assert.ok(changed.length > 0, 'CONFIG_CHANGED on the second push');
    assert.match(JSON.stringify(changed[0].evidence), /rms_norm_eps/);
  });

  test('the first push of a repo has no previous revision', async () => {
    const r1 = await getRelease(pool, (await pool.query('SELECT min(id) AS id FROM releases')).rows[0].id);
    assert.equal(r1?.previousReleaseId, null);
  });
});
