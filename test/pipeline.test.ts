/**
 * The real stack end to end: local Hub mirror → webhook → Postgres → BullMQ → workers and runner → verdict → API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QueueEvents } from 'bullmq';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { pollAuthors } from '../lib/pipeline/poll.ts';
import { reconcile } from '../lib/pipeline/reconcile.ts';
import { QUEUE, redisConnection } from '../lib/queues.ts';
import { startStack } from '../services/processes.ts';
import type { Stack } from '../services/processes.ts';
import { eventually, queuesIdle, silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const SECRET = 'pipeline-test-secret';
const TOKEN = 'pipeline-api-token';
const BUGGY = 'hubwatch-fixtures/tiny-llama3-base-untrained';
const CLEAN = 'hubwatch-fixtures/tiny-llama3-clean';

let env: TestEnv;
let stack: Stack;
let mirror: HubMirror;
let work: string;

async function releaseRow(
  repo: string,
  sha: string,
): Promise<{ id: string; status: string; verdict: string | null } | undefined> {
  return (
    await stack.deps.pool.query('SELECT id, status, verdict FROM releases WHERE repo = $1 AND sha = $2', [repo, sha])
  ).rows[0];
}

async function done(repo: string, sha: string): Promise<{ id: string; status: string; verdict: string | null }> {
  return eventually(
    async () => {
      const r = await releaseRow(repo, sha);
      return r && (r.status === 'done' || r.status === 'failed') ? r : null;
    },
    90_000,
    `verdict of ${repo}@${sha}`,
  );
}

function build(repo: string, rev = -1): string {
  const dir = join(work, `${repo.replace('/', '--')}-${rev}-${Math.random().toString(36).slice(2)}`);
  buildFixture(fixtureByRepo(repo), rev, dir);
  return dir;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hubwatch-pipeline-'));
  env = await testEnv({ webhookSecret: SECRET, apiToken: TOKEN });
  // API first (ephemeral port) so the mirror knows where to send webhooks; the mirror URL is set before workers start.
  mirror = await startHubMirror({ root: join(work, 'mirror') });
  stack = await startStack({ ...env.cfg, hubUrl: mirror.url }, silentLog, { api: true, workers: true, runner: true });
  await mirror.close();
  mirror = await startHubMirror({
    root: join(work, 'mirror'),
    port: Number(new URL(mirror.url).port),
    webhook: { url: `${stack.url}/webhooks/huggingface`, secret: SECRET },
  });
});

after(async () => {
  await stack?.close();
  await mirror?.close();
  await env?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('webhook to verdict', () => {
  let sha: string;

  test('a buggy release published on the mirror ends critical with EOS_MISMATCH, in Postgres and over the API', async () => {
    const pub = await mirror.publish(BUGGY, build(BUGGY));
    sha = pub.sha;
    assert.equal(pub.webhookStatus, 202);
    const r = await done(BUGGY, sha);
    assert.equal(r.status, 'done');
    assert.equal(r.verdict, 'critical');
    const codes = (await stack.deps.pool.query('SELECT code, severity FROM findings WHERE release_id = $1', [r.id]))
      .rows;
    for (const code of fixtureByRepo(BUGGY).expectedCodes)
      assert.ok(
        codes.some((c) => c.code === code),
        `${code} stored`,
      );
    assert.ok(codes.some((c) => c.code === 'EOS_MISMATCH' && c.severity === 'critical'));

    const api = await (await fetch(`${stack.url}/v1/models/${BUGGY}/releases/${sha}`)).json();
    assert.equal(api.verdict, 'critical');
    assert.ok(
      api.findings.some(
        (f: { code: string; evidence: { terminator?: { token: string } } }) =>
          f.code === 'EOS_MISMATCH' && f.evidence.terminator?.token === '<|eot_id|>',
      ),
    );
    assert.ok(
      api.checkRuns.length > 0 &&
        api.checkRuns.every((c: { status: string }) => !['queued', 'running'].includes(c.status)),
    );
    const model = await (await fetch(`${stack.url}/v1/models/${BUGGY}`)).json();
    assert.equal(model.verdict, 'critical');
    const fp = (
      await stack.deps.pool.query(
        'SELECT s.tokenizer_fingerprint AS fp FROM releases r JOIN snapshots s ON s.id = r.snapshot_id WHERE r.id = $1',
        [r.id],
      )
    ).rows[0].fp;
    assert.match(fp, /^[0-9a-f]{64}$/, 'the tokenizer fingerprint is stored with the release');
  });

  test('the same webhook delivered 5 times more yields one release and one set of findings', async (t) => {
    const before = (await stack.deps.pool.query('SELECT count(*)::int AS n FROM findings')).rows[0].n;
    const events = new QueueEvents(QUEUE.release, {
      connection: redisConnection(env.cfg.redisUrl),
      prefix: env.queuePrefix,
    });
    t.after(() => events.close());
    await events.waitUntilReady();
    const added: string[] = [];
    events.on('added', (e) => void added.push(e.jobId));
    const body = {
      event: { action: 'create', scope: 'repo' },
      repo: {
        type: 'model',
        name: BUGGY,
        id: 'x',
        private: false,
        headSha: sha,
        url: { web: '', api: '' },
        owner: { id: 'o' },
      },
      webhook: { id: 'w', version: 3 },
    };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        fetch(`${stack.url}/webhooks/huggingface`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET },
          body: JSON.stringify(body),
        }),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      [202, 202, 202, 202, 202],
    );
    const outcomes = await Promise.all(answers.map(async (a) => (await a.json()).outcome));
    assert.deepEqual(outcomes, ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    // Queue events arrive in order: once the marker's `added` is seen, any job a duplicate enqueued was seen too.
    const marker = `marker-${sha.slice(0, 8)}`;
    const markerSeen = new Promise<void>((res) => events.on('added', (e) => e.jobId === marker && res()));
    await stack.deps.queues.release.add('release', { releaseId: 0 }, { jobId: marker });
    await markerSeen;
    assert.deepEqual(added, [marker], 'the duplicates enqueued no release job');
    const q = stack.deps.queues;
    await queuesIdle([q.release, q.checks, q.tensor, q.notify]);
    assert.equal(
      (await stack.deps.pool.query('SELECT count(*)::int AS n FROM releases WHERE repo = $1', [BUGGY])).rows[0].n,
      1,
    );
    assert.equal((await stack.deps.pool.query('SELECT count(*)::int AS n FROM findings')).rows[0].n, before);
    assert.equal(
      (await stack.deps.pool.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE repo = $1', [BUGGY]))
        .rows[0].n,
      6,
    );
  });

  test('wrong or missing secret over HTTP: 401 and nothing stored', async () => {
    const deliveries = (await stack.deps.pool.query('SELECT count(*)::int AS n FROM webhook_deliveries')).rows[0].n;
    const variants: Record<string, string>[] = [
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json', 'x-webhook-secret': 'wrong' },
    ];
    for (const headers of variants) {
      const r = await fetch(`${stack.url}/webhooks/huggingface`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          event: { scope: 'repo', action: 'create' },
          repo: { type: 'model', name: 'x/y', headSha: 'f'.repeat(40) },
        }),
      });
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    }
    assert.equal(
      (await stack.deps.pool.query('SELECT count(*)::int AS n FROM webhook_deliveries')).rows[0].n,
      deliveries,
    );
    assert.equal(
      (await stack.deps.pool.query(`SELECT count(*)::int AS n FROM releases WHERE repo = 'x/y'`)).rows[0].n,
      0,
    );
  });

  test('a clean release is ok; its second revision is compared with the first', async () => {
    const first = await mirror.publish(CLEAN, build(CLEAN, 0));
    assert.equal((await done(CLEAN, first.sha)).verdict, 'ok');
    const second = await mirror.publish(CLEAN, build(CLEAN, 1));
    assert.notEqual(second.sha, first.sha);
    assert.equal((await done(CLEAN, second.sha)).verdict, 'ok');
    const prev = (
      await stack.deps.pool.query(
        'SELECT p.sha FROM releases r JOIN releases p ON p.id = r.previous_release_id WHERE r.sha = $1',
        [second.sha],
      )
    ).rows[0];
    assert.equal(prev?.sha, first.sha);
  });

  test('a fine-tune is compared with its declared base and its previous revision automatically', async () => {
    const FT = 'hubwatch-fixtures/tiny-llama3-finetune';
    await mirror.publish(CLEAN, build(CLEAN));
    const r0 = await mirror.publish(FT, build(FT, 0));
    assert.equal((await done(FT, r0.sha)).verdict, 'ok');
    const r1 = await mirror.publish(FT, build(FT, 1));
    const rel = await done(FT, r1.sha);
    assert.equal(rel.verdict, 'critical');
    const api = await (await fetch(`${stack.url}/v1/models/${FT}/releases/${r1.sha}`)).json();
    assert.equal(api.previousSha, r0.sha);
    const codes = api.findings.map((f: { code: string }) => f.code);
    for (const code of fixtureByRepo(FT).expectedCodes) assert.ok(codes.includes(code), `${code} in ${codes}`);
    const base = await stack.deps.pool.query(
      'SELECT s.repo FROM releases r JOIN snapshots s ON s.id = r.base_snapshot_id WHERE r.repo = $1 AND r.sha = $2',
      [FT, r1.sha],
    );
    assert.equal(base.rows[0]?.repo, CLEAN);
  });

  test('a private repo is checked when it turns public (repo.config webhook)', async () => {
    const repo = 'hubwatch-fixtures/goes-public';
    const pub = await mirror.publish(repo, build(BUGGY), { private: true });
    assert.equal(pub.webhookStatus, null, 'no webhook while private');
    const { webhookStatus } = await mirror.setPrivate(repo, false);
    assert.equal(webhookStatus, 202);
    assert.equal((await done(repo, pub.sha)).verdict, 'critical');
  });
});

describe('manual scan requests', () => {
  test('POST /v1/scans needs the bearer token, resolves the revision and checks it once', async () => {
    const repo = 'hubwatch-fixtures/asked-for';
    const quiet = await startHubMirror({ root: join(work, 'mirror') });
    const pub = await quiet.publish(repo, build(BUGGY));
    await quiet.close();
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${stack.url}/v1/scans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    assert.equal((await post({}, { repo })).status, 401);
    assert.equal((await post({ authorization: 'Bearer nope' }, { repo })).status, 401);
    const bad = await post({ authorization: `Bearer ${TOKEN}` }, { repo: 'no-slash' });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal((await post({ authorization: `Bearer ${TOKEN}` }, { repo: 'ghost/none' })).status, 404);
    const ok = await post({ authorization: `Bearer ${TOKEN}` }, { repo });
    assert.equal(ok.status, 202);
    const body = await ok.json();
    assert.equal(body.sha, pub.sha);
    assert.equal(body.created, true);
    assert.equal(
      (await (await post({ authorization: `Bearer ${TOKEN}` }, { repo, revision: pub.sha })).json()).created,
      false,
    );
    assert.equal((await done(repo, pub.sha)).verdict, 'critical');
  });
});

describe('releases that cannot be read', () => {
  test('a webhook for a repo the Hub does not have ends as a failed release with verdict error, and the workers go on', async () => {
    const sha = '9'.repeat(40);
    const body = {
      event: { action: 'create', scope: 'repo' },
      repo: { type: 'model', name: 'ghost/missing', id: 'g', private: false, headSha: sha },
      webhook: { id: 'w', version: 3 },
    };
    const r = await fetch(`${stack.url}/webhooks/huggingface`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': SECRET },
      body: JSON.stringify(body),
    });
    assert.equal(r.status, 202);
    const rel = await done('ghost/missing', sha);
    assert.equal(rel.status, 'failed');
    assert.equal(rel.verdict, 'error');
    const api = await (await fetch(`${stack.url}/v1/models/ghost/missing/releases/${sha}`)).json();
    assert.match(api.error, /ghost\/missing/);
    assert.equal((await (await fetch(`${stack.url}/v1/models/ghost/missing`)).json()).verdict, 'error');
  });
});

describe('nothing accepted is lost', () => {
  test('a release whose webhook never arrived is found by the poller (listModels of a watched author)', async () => {
    const quiet = await startHubMirror({ root: join(work, 'mirror') }); // same repos, no webhook configured
    try {
      const pub = await quiet.publish('quiet-org/missed-webhook', build(CLEAN));
      assert.equal(pub.webhookStatus, null);
      assert.equal(await releaseRow('quiet-org/missed-webhook', pub.sha), undefined);
      const r = await pollAuthors(stack.deps, ['quiet-org']);
      assert.deepEqual(r, { seen: 1, accepted: 1 });
      assert.equal((await done('quiet-org/missed-webhook', pub.sha)).verdict, 'ok');
      assert.deepEqual(
        await pollAuthors(stack.deps, ['quiet-org']),
        { seen: 1, accepted: 0 },
        'a second poll accepts nothing new',
      );
      const src = (
        await stack.deps.pool.query('SELECT source FROM releases WHERE repo = $1 AND sha = $2', [
          'quiet-org/missed-webhook',
          pub.sha,
        ])
      ).rows[0].source;
      assert.equal(src, 'poller');
    } finally {
      await quiet.close();
    }
  });

  test('a release accepted while its jobs are lost (Redis emptied) is recovered by the reconciler', async () => {
    const repo = 'hubwatch-fixtures/lost-jobs';
    // Pause the release queue so the job cannot start, then drop it the way a Redis restart without persistence would.
    await stack.deps.queues.release.pause();
    try {
      const pub = await mirror.publish(repo, build(CLEAN));
      assert.equal(pub.webhookStatus, 202);
      // The webhook's outbox enqueues the job after the request; let it, so that the job is there to lose.
      await stack.app?.outbox?.drain();
      await stack.deps.queues.release.obliterate({ force: true });
      assert.equal((await releaseRow(repo, pub.sha))?.status, 'pending');
    } finally {
      await stack.deps.queues.release.resume();
    }
    const r = await reconcile(stack.deps, 0);
    assert.ok(r.releases >= 1);
    const sha = (await stack.deps.pool.query('SELECT sha FROM releases WHERE repo = $1', [repo])).rows[0].sha;
    assert.equal((await done(repo, sha)).verdict, 'ok');
  });
});
