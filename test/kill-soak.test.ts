/**
 * The SIGKILL soak of bench/kill-soak.ts, small: 2 releases, one `hubwatch worker` and one `hubwatch runner`
 * process, 3 SIGKILLs of the process holding a running job, one of them twice in a row on the same job. Every release
 * must end done or failed with a reason, with no duplicate finding and exactly one complete set of check runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runKillSoak } from '../bench/kill-soak.ts';

test('3 SIGKILLs of workers and the runner, one twice on the same job: nothing stuck, nothing duplicated', async () => {
  const r = await runKillSoak({
    kills: 3,
    releases: 2,
    workers: 1,
    seed: 11,
    lockMs: 4000,
    maxPauseMs: 0, // kill as soon as a job is seen running
    timeoutMs: 240_000,
    log: (line) => process.stderr.write(`# ${line}\n`),
  });
  process.stderr.write(`# ${JSON.stringify(r)}\n`);
  assert.equal(r.kills, 3);
  assert.equal(r.killedTwice.length, 1, 'one job was killed twice');
  assert.equal(r.stuck, 0);
  assert.equal(r.done + r.failed.length, 2);
  for (const f of r.failed) assert.match(f.error ?? '', /./, `${f.repo} failed with a reason`);
  assert.equal(r.duplicateFindings, 0);
  assert.equal(r.incompleteRunSets, 0);
});
