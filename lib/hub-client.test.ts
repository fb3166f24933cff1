/**
 * The Hub client against infra/hub-mirror with injected faults: statuses are kept on SourceError, 429 and 5xx are
 * asked again (honouring Retry-After), 401/403/404 are not.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { SourceError } from './byte-source.ts';
import { HubSource, resolveRevision } from './hub-client.ts';
import type { HubOptions } from './hub-client.ts';
import { retryAfterMs } from './hub-retry.ts';

const REPO = 'acme/tiny';
type Fault = { status: number; headers?: Record<string, string> };

let tmp: string;
let mirror: HubMirror;
let sha: string;
/** Faults still to inject, per path fragment: each request matching it takes the next one. */
let planned: { match: string; faults: Fault[] }[] = [];
let waits: number[] = [];

function hub(): HubOptions {
  return { hubUrl: mirror.url, retry: { sleep: async (ms) => void waits.push(ms) } };
}
const hits = (fragment: string): number => mirror.stats.requests.filter((r) => r.path.includes(fragment)).length;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'hw-hub-client-'));
  const dir = join(tmp, 'rev');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama' }));
  writeFileSync(join(dir, 'README.md'), '# tiny\n');
  mirror = await startHubMirror({
    root: join(tmp, 'store'),
    fault: ({ path }) => planned.find((p) => path.includes(p.match) && p.faults.length)?.faults.shift() ?? null,
  });
  sha = (await mirror.publish(REPO, dir)).sha;
});
after(async () => {
  await mirror?.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  planned = [];
  waits = [];
  mirror.resetStats();
});

describe('Hub client retries', () => {
  test('a 429 with Retry-After is asked again after the time it names', async () => {
    planned = [{ match: '/resolve/', faults: [{ status: 429, headers: { 'retry-after': '3' } }] }];
    const text = await new HubSource(hub(), REPO, sha).readText('config.json');
    assert.deepEqual(JSON.parse(text), { model_type: 'llama' });
    assert.deepEqual(waits, [3000]);
  });

  test('5xx answers are retried with growing backoff until one succeeds', async () => {
    planned = [{ match: `/api/models/${REPO}`, faults: [{ status: 503 }, { status: 502 }, { status: 500 }] }];
    assert.equal((await resolveRevision(hub(), REPO, 'main')).sha, sha);
    assert.equal(hits(`/api/models/${REPO}`), 4);
    assert.deepEqual(waits, [500, 1000, 2000]);
  });

  test('a Hub that keeps failing ends in a SourceError carrying the last status', async () => {
    planned = [{ match: `/api/models/${REPO}`, faults: Array.from({ length: 10 }, () => ({ status: 503 })) }];
    await assert.rejects(resolveRevision({ ...hub(), retry: { ...hub().retry, retries: 2 } }, REPO), (e) => {
      assert.ok(e instanceof SourceError);
      assert.equal(e.status, 503);
      return true;
    });
    assert.equal(hits(`/api/models/${REPO}`), 3);
  });

  for (const status of [401, 403, 404]) {
    test(`a ${status} on a file is not retried and keeps its status`, async () => {
      planned = [{ match: '/resolve/', faults: [{ status }, { status }, { status }] }];
      await assert.rejects(new HubSource(hub(), REPO, sha).readText('config.json'), (e) => {
        assert.ok(e instanceof SourceError);
        assert.equal(e.status, status);
        assert.equal(e.path, 'config.json');
        return true;
      });
      assert.equal(hits('/resolve/'), 1);
      assert.deepEqual(waits, []);
    });
  }

  test('a file the repo does not have is a 404 SourceError', async () => {
    await assert.rejects(new HubSource(hub(), REPO, sha).readText('nope.json'), (e) => {
      assert.ok(e instanceof SourceError);
      assert.equal(e.status, 404);
      return true;
    });
  });

  test('a repo the token may not read is a 401 at resolve time, asked once', async () => {
    planned = [{ match: `/api/models/${REPO}`, faults: [{ status: 401 }] }];
    await assert.rejects(resolveRevision(hub(), REPO), (e) => e instanceof SourceError && e.status === 401);
    assert.equal(hits(`/api/models/${REPO}`), 1);
  });

  test('Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    assert.equal(retryAfterMs('7', now), 7000);
    assert.equal(retryAfterMs('Tue, 01 Dec 2026 00:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs(null, now), null);
    assert.equal(retryAfterMs('soon', now), null);
  });
});
