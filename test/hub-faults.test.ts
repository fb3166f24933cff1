/**
 * Hub faults through the real pipeline pieces: the mirror injects them (infra/hub-mirror/faults.ts), the Hub client
 * (HubSource over the global fetch and over the runner's range fetch), the snapshot builder, the tensor stream, the
 * release worker and a check run meet them. Retries happen where they can help; otherwise the read fails with the
 * file and the fault named, and nothing is checked on partial data. Waits between retries are recorded, not slept.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { QueueEvents } from 'bullmq';
import type { FaultRule } from '../infra/hub-mirror/faults.ts';
import { faultPlan, parseFaultRules } from '../infra/hub-mirror/faults.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { HubMirror } from '../infra/hub-mirror/server.ts';
import { pickleWeights } from '../checks/files/pickle-weights.ts';
import { runCheck } from '../checks/run-check.ts';
import type { CheckContext } from '../checks/types.ts';
import { hubScanLine } from '../services/pages/hub-scan.ts';
import { SourceError } from '../lib/byte-source.ts';
import { createPool } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { HubSource } from '../lib/hub-client.ts';
import type { HubOptions } from '../lib/hub-client.ts';
import { processCheckRun } from '../lib/pipeline/process-check-run.ts';
import { processRelease } from '../lib/pipeline/process-release.ts';
import type { PipelineDeps } from '../lib/pipeline/deps.ts';
import { createQueues, jobId, QUEUE, redisConnection } from '../lib/queues.ts';
import type { Queues } from '../lib/queues.ts';
import { chunkBufferPool } from '../lib/buffer-pool.ts';
import { createRangeFetch } from '../lib/range-fetch.ts';
import type { RangeFetch } from '../lib/range-fetch.ts';
import { getRelease, upsertRelease } from '../lib/releases.repo.ts';
import { createReleaseFiles } from '../lib/release-files.ts';
import { buildSnapshot } from '../lib/snapshot-builder.ts';
import { streamTensorRows } from '../lib/tensor-stream.ts';
import { startReleaseWorker } from '../workers/release.worker.ts';
import { silentLog, testEnv } from './helpers.ts';
import type { TestEnv } from './helpers.ts';

const REPO = 'acme/faulty';
/** The same files under another repo, for a release of its own. */
const REPO2 = 'acme/faulty-too';
/** A file over @huggingface/hub's 1 MB whole-download threshold, so its reads are ranged. */
const REPO_BIG = 'acme/faulty-big';
const big = Buffer.from(Array.from({ length: 1_500_000 }, (_, i) => (i * 13 + (i >> 9)) & 0xff));
let bigSha: string;
const ROWS = 64;
const COLS = 16;
let tmp: string;
let mirror: HubMirror;
let sha: string;
let rules: FaultRule[] = [];
let waits: number[] = [];
let rangeFetch: RangeFetch;
const config = JSON.stringify({ model_type: 'llama', hidden_size: COLS, vocab_size: ROWS, padding: 'x'.repeat(400) });
/** A safetensors file with one F32 [ROWS, COLS] tensor whose element i is i. */
const weights = ((): Buffer => {
  let header = JSON.stringify({ w: { dtype: 'F32', shape: [ROWS, COLS], data_offsets: [0, ROWS * COLS * 4] } });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.alloc(ROWS * COLS * 4);
  for (let i = 0; i < ROWS * COLS; i++) data.writeFloatLE(i, i * 4);
  return Buffer.concat([len, Buffer.from(header), data]);
})();
const headerLength = Number(weights.readBigUInt64LE(0));
/** A protocol-2 pickle calling os.system: written as opcodes, never loaded. */
const evilPickle = Buffer.concat([
  Buffer.from([0x80, 0x02]),
  Buffer.from('cos\nsystem\n', 'latin1'),
  Buffer.from([0x58, 0x02, 0, 0, 0]),
  Buffer.from('ls', 'latin1'),
  Buffer.from([0x85, 0x52, 0x2e]),
]);

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'hw-hub-faults-'));
  const dir = join(tmp, 'rev');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), config);
  writeFileSync(join(dir, 'model.safetensors'), weights);
  writeFileSync(join(dir, 'pytorch_model.bin'), evilPickle);
  writeFileSync(join(dir, 'training_args.bin'), evilPickle);
  // The rules are read per request, so each test sets its own.
  mirror = await startHubMirror({
    root: join(tmp, 'store'),
    faults: { pick: (r) => plan.pick(r), applied: () => plan.applied() },
  });
  sha = (
    await mirror.publish(REPO, dir, {
      security: {
        'pytorch_model.bin': {
          status: 'unsafe',
          avScan: { status: 'safe' },
          pickleImportScan: {
            status: 'unsafe',
            highestSafetyLevel: 'dangerous',
            imports: [
              { module: 'os', name: 'system', safety: 'dangerous' },
              { module: 'collections', name: 'OrderedDict', safety: 'innocuous' },
            ],
          },
        },
      },
    })
  ).sha;
  await mirror.publish(REPO2, dir);
  const bigDir = join(tmp, 'big');
  mkdirSync(bigDir);
  writeFileSync(join(bigDir, 'model.safetensors'), big);
  bigSha = (await mirror.publish(REPO_BIG, bigDir)).sha;
  rangeFetch = createRangeFetch();
});
let plan = faultPlan([]);
after(async () => {
  await rangeFetch?.close();
  await mirror?.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  rules = [];
  plan = faultPlan(rules);
  waits = [];
  mirror.resetStats();
});
const inject = (...r: FaultRule[]): void => {
  rules = r;
  plan = faultPlan(rules);
};

/** Hub options whose retry waits are recorded instead of slept; `range` uses the runner's keep-alive range fetch. */
function hub(range: boolean, attemptTimeoutMs = 5_000): HubOptions {
  return {
    hubUrl: mirror.url,
    ...(range ? { fetch: rangeFetch } : {}),
    retry: { sleep: async (ms) => void waits.push(ms), attemptTimeoutMs, retries: 3 },
  };
}
const hits = (fragment: string, ranged?: boolean): number =>
  mirror.stats.requests.filter((r) => r.path.includes(fragment) && (ranged === undefined || !!r.range === ranged))
    .length;
const rejectsWith = async (p: Promise<unknown>, pattern: RegExp): Promise<SourceError> => {
  let err: unknown;
  await assert.rejects(p, (e) => ((err = e), true));
  assert.ok(err instanceof SourceError, `a SourceError, got ${String(err)}`);
  assert.match(err.message, pattern);
  return err;
};
/** Bytes [a, b) of the weights, as a ranged read after the `bytes=0-0` probe. */
const slice = (a: number, b: number): Uint8Array => new Uint8Array(weights.subarray(a, b));

for (const range of [false, true]) {
  const via = range ? 'range fetch' : 'global fetch';
  describe(`HubSource over the ${via}`, () => {
    test('429 with Retry-After and 5xx are asked again after the time the Hub names, then read', async () => {
      inject(
        { path: '/config.json', first: 1, fault: { kind: 'status', status: 429, retryAfter: 2 } },
        { path: '/config.json', first: 1, fault: { kind: 'status', status: 502 } },
      );
      assert.equal(await new HubSource(hub(range), REPO, sha).readText('config.json'), config);
      assert.deepEqual(waits, [2000, 1000]);
    });

    test('retries stop at the total time bound: a Hub that keeps asking for patience ends in its 429', async () => {
      inject({ path: '/config.json', fault: { kind: 'status', status: 429, retryAfter: 1 } });
      const o = hub(range);
      o.retry = { ...o.retry, retries: 10, totalMs: 2_500 };
      const e = await rejectsWith(new HubSource(o, REPO, sha).readText('config.json'), /config\.json/);
      assert.equal(e.status, 429);
      assert.deepEqual(waits, [1000, 1000], 'a third wait would pass 2.5 s');
      assert.equal(hits('/config.json'), 3);
    });

    test('a connection cut mid-body is asked again with backoff; a read always cut fails naming file and fault', async () => {
      inject({ path: '/model.safetensors', ranged: true, skip: 1, first: 2, fault: { kind: 'cut' } });
      const src = new HubSource(hub(range), REPO, sha);
      assert.deepEqual(await src.readRange('model.safetensors', 8, 8 + headerLength), slice(8, 8 + headerLength));
      assert.deepEqual(mirror.faultsApplied(), [2]);
      assert.equal(waits.length, 2);
      inject({ path: '/model.safetensors', ranged: true, fault: { kind: 'cut', afterBytes: 10 } });
      const e = await rejectsWith(src.readRange('model.safetensors', 8, 8 + headerLength), /model\.safetensors/);
      assert.match(e.message, /terminated|connection closed after 10 of|socket/i);
      assert.equal(e.path, 'model.safetensors');
    });

    test('a short range is asked again once; always short, the read fails rather than returning fewer bytes', async () => {
      inject({ path: '/model.safetensors', ranged: true, skip: 1, first: 1, fault: { kind: 'short-range' } });
      const src = new HubSource(hub(range), REPO, sha);
      assert.deepEqual(await src.readRange('model.safetensors', 8, 200), slice(8, 200));
      assert.equal(hits('/model.safetensors', true), 3, 'probe, short answer, the range asked again');
      inject({ path: '/model.safetensors', ranged: true, fault: { kind: 'short-range' } });
      await rejectsWith(
        src.readRange('model.safetensors', 8, 200),
        /model\.safetensors.*asked for 192 bytes at 8, got 96/,
      );
      assert.deepEqual(mirror.faultsApplied(), [2], 'asked twice, not more');
    });

    test('a wrong Content-Range is asked again once; always wrong, the read fails naming the range', async () => {
      inject({ path: '/model.safetensors', ranged: true, skip: 1, first: 1, fault: { kind: 'wrong-range', shift: 8 } });
      const src = new HubSource(hub(range), REPO, sha);
      assert.deepEqual(await src.readRange('model.safetensors', 16, 64), slice(16, 64));
      inject({ path: '/model.safetensors', ranged: true, fault: { kind: 'wrong-range', shift: 8 } });
      await rejectsWith(src.readRange('model.safetensors', 16, 64), /model\.safetensors.*bytes=16-63.*bytes 8-55/);
      assert.deepEqual(mirror.faultsApplied(), [2]);
    });

    test('a file whose ETag changes between requests is refused, never mixed with what was read before', async () => {
      const src = new HubSource(hub(range), REPO, sha);
      assert.deepEqual(await src.readRange('model.safetensors', 0, 8), slice(0, 8));
      inject({ path: '/model.safetensors', fault: { kind: 'etag-change' } });
      const e = await rejectsWith(src.readRange('model.safetensors', 8, 64), /model\.safetensors.*refused.*changed/);
      assert.match(e.message, /-changed"/);
      assert.equal(mirror.faultsApplied()[0], 1, 'refused at once, not asked again');
    });

    // Without the attempt limit the slow answer would only come after 30 s: the test's own limit fails it first.
    test(
      'answers later than the attempt limit are abandoned and asked again, then the read fails naming it',
      { timeout: 15_000 },
      async () => {
        inject({ path: '/config.json', first: 1, fault: { kind: 'slow-headers', delayMs: 30_000 } });
        assert.equal(await new HubSource(hub(range, 300), REPO, sha).readText('config.json'), config);
        assert.equal(waits.length, 1);
        inject({ path: '/config.json', fault: { kind: 'trickle', bytes: 1, intervalMs: 100 } });
        await rejectsWith(
          new HubSource(hub(range, 300), REPO, sha).readText('config.json'),
          /config\.json.*within 300 ms/,
        );
      },
    );
  });
}

describe('snapshot builder and tensor stream on a faulty Hub', () => {
  test('a config.json that keeps failing fails the snapshot with its reason; nothing is omitted quietly', async () => {
    for (const fault of [
      { kind: 'status', status: 503 },
      { kind: 'cut', afterBytes: 10 },
      { kind: 'etag-change' },
    ] as const) {
      inject({ path: '/config.json', skip: fault.kind === 'etag-change' ? 1 : 0, fault });
      const src = new HubSource(hub(false), REPO, sha);
      const e = await rejectsWith(buildSnapshot(src, { repo: REPO, sha }, { maxFileBytes: 1 << 20 }), /config\.json/);
      assert.match(
        e.message,
        fault.kind === 'status' ? /503/ : fault.kind === 'cut' ? /terminated|UND_ERR_SOCKET/ : /changed/,
      );
    }
  });

  test('a safetensors header whose read fails fails the snapshot instead of an inventory with a hole', async () => {
    inject({ path: '/model.safetensors', ranged: true, skip: 1, fault: { kind: 'status', status: 500 } });
    await rejectsWith(
      buildSnapshot(new HubSource(hub(false), REPO, sha), { repo: REPO, sha }, { maxFileBytes: 1 << 20 }),
      /model\.safetensors.*500/,
    );
  });

  test('the tensor stream gets every row once across a cut, and fails with the file named when it lasts', async () => {
    const layout = { file: 'model.safetensors', start: 8 + headerLength, rows: ROWS, rowBytes: COLS * 4 };
    inject({ path: '/model.safetensors', ranged: true, skip: 2, first: 1, fault: { kind: 'cut' } });
    const seen = new Float32Array(ROWS * COLS).fill(-1);
    await streamTensorRows(
      new HubSource(hub(true), REPO, sha),
      layout,
      ({ data, firstRow }) => {
        seen.set(new Float32Array(data.slice().buffer), firstRow * COLS);
      },
      { chunkBytes: 1024, parallel: 2 },
    );
    assert.ok(seen.every((v, i) => v === i));
    assert.deepEqual(mirror.faultsApplied(), [1]);
    inject({ path: '/model.safetensors', ranged: true, skip: 1, fault: { kind: 'cut' } });
    await assert.rejects(
      streamTensorRows(new HubSource(hub(true), REPO, sha), layout, () => undefined, { chunkBytes: 1024 }),
      (e: Error) => e instanceof SourceError && /model\.safetensors/.test(e.message),
    );
  });

  test("the Hub's own scan status is kept with the listed file and shown next to ours; absent means not scanned", async () => {
    const src = new HubSource(hub(false), REPO, sha);
    const snap = await buildSnapshot(src, { repo: REPO, sha }, { maxFileBytes: 1 << 20 });
    const bin = snap.files.find((f) => f.path === 'pytorch_model.bin');
    assert.deepEqual(bin?.hubSecurity, {
      status: 'unsafe',
      scanners: { avScan: 'safe', pickleImportScan: 'unsafe' },
      pickleSafety: 'dangerous',
      pickleImports: [{ module: 'os', name: 'system', safety: 'dangerous' }],
    });
    assert.equal(snap.files.find((f) => f.path === 'training_args.bin')?.hubSecurity, undefined);
    // The check's evidence puts the Hub's word next to ours, file by file; the card shows it.
    const ctx = { release: snap, files: createReleaseFiles(src) } as unknown as CheckContext;
    const run = await runCheck(pickleWeights, ctx);
    const unsafe = Object.fromEntries(
      run.findings.filter((f) => f.code === 'UNSAFE_PICKLE').map((f) => [f.evidence.file, f.evidence.hubScan]),
    );
    assert.deepEqual(unsafe, { 'pytorch_model.bin': 'unsafe', 'training_args.bin': 'not scanned' });
    const weightsFinding = run.findings.find((f) => f.code === 'PICKLE_WEIGHTS')!;
    assert.deepEqual(weightsFinding.evidence.scanned, [
      { file: 'pytorch_model.bin', format: 'pickle', hubScan: 'unsafe', hubSecurity: bin!.hubSecurity },
    ]);
    const card = run.findings.find((f) => f.code === 'UNSAFE_PICKLE' && f.files[0] === 'pytorch_model.bin')!;
    assert.match(card.detail, /Hub scan: unsafe\./);
    assert.match(hubScanLine(card).value, />unsafe<\/strong>/);
  });
});

describe("readRangeInto over the range fetch (bodies read straight into the caller's kernel memory)", () => {
  const A = 300_000;
  const N = 600_000;
  const want = big.subarray(A, A + N);
  const into = (): Buffer => chunkBufferPool.takeShared(N).fill(0xee);

  test('reads in place; a cut body is asked again and lands whole', async () => {
    const src = new HubSource(hub(true), REPO_BIG, bigSha);
    let before = rangeFetch.directBytes;
    const a = into();
    await src.readRangeInto('model.safetensors', A, a);
    assert.ok(a.equals(want));
    assert.ok(rangeFetch.directBytes - before > N / 2, 'the socket read the body into the shared memory');
    inject({ path: '/model.safetensors', ranged: true, first: 1, fault: { kind: 'cut', afterBytes: 200_000 } });
    before = rangeFetch.directBytes;
    const b = into();
    await src.readRangeInto('model.safetensors', A, b);
    assert.deepEqual(mirror.faultsApplied(), [1]);
    assert.equal(waits.length, 1, 'asked again after one backoff');
    assert.ok(b.equals(want));
    assert.ok(rangeFetch.directBytes - before > N / 2);
  });

  test('a short or wrong range is asked again once, then refused; the same read twice at once is copied in', async () => {
    const src = new HubSource(hub(true), REPO_BIG, bigSha);
    await src.readRange('model.safetensors', 0, 8); // the probe, outside the rules below
    inject({ path: '/model.safetensors', ranged: true, first: 1, fault: { kind: 'short-range' } });
    const a = into();
    await src.readRangeInto('model.safetensors', A, a);
    assert.ok(a.equals(want));
    inject({ path: '/model.safetensors', ranged: true, fault: { kind: 'wrong-range', shift: 8 } });
    await rejectsWith(src.readRangeInto('model.safetensors', A, into()), /bytes=300000-899999/);
    inject();
    const [c, d] = [into(), into()];
    await Promise.all([src.readRangeInto('model.safetensors', A, c), src.readRangeInto('model.safetensors', A, d)]);
    assert.ok(c.equals(want) && d.equals(want));
  });
});

test('fault rules parse from the JSON the standalone mirror reads (HUB_MIRROR_FAULTS)', () => {
  const r = parseFaultRules('[{"pathRegex":"\\\\.bin$","fraction":0.5,"fault":{"kind":"cut"}}]');
  assert.ok(r[0].path instanceof RegExp && r[0].path.test('/a/b/resolve/main/x.bin'));
  const p = faultPlan(r, 7);
  const picks = Array.from({ length: 200 }, () => p.pick({ method: 'GET', path: '/x.bin', ranged: true }));
  const n = picks.filter(Boolean).length;
  assert.ok(n > 60 && n < 140, `about half of 200 requests, got ${n}`);
  assert.throws(() => parseFaultRules('[{"path":"/x","fault":{"kind":"nope"}}]'), /unknown fault kind/);
});

describe('through the release worker and a check run', () => {
  let env: TestEnv;
  let pool: Pool;
  let queues: Queues;
  let deps: PipelineDeps;
  before(async () => {
    env = await testEnv({ hubUrl: mirror.url });
    pool = createPool(env.databaseUrl);
    queues = createQueues(env.cfg.redisUrl, env.queuePrefix);
    deps = { pool, queues, cfg: env.cfg, log: silentLog };
  });
  after(async () => {
    await queues?.close();
    await pool?.end();
    await env?.cleanup();
  });
  const counts = async (releaseId: number): Promise<{ runs: number; findings: number; snapshots: number }> => {
    const q = async (sql: string): Promise<number> => Number((await pool.query(sql, [releaseId])).rows[0].n);
    return {
      runs: await q('SELECT count(*) AS n FROM check_runs WHERE release_id = $1'),
      findings: await q('SELECT count(*) AS n FROM findings WHERE release_id = $1'),
      snapshots: await q('SELECT count(*) AS n FROM releases WHERE id = $1 AND snapshot_id IS NOT NULL'),
    };
  };

  test('a config.json that changes mid-read fails the release with the reason; no snapshot, no check, no finding', async () => {
    const events = new QueueEvents(QUEUE.release, {
      connection: redisConnection(env.cfg.redisUrl),
      prefix: env.queuePrefix,
    });
    await events.waitUntilReady();
    const worker = startReleaseWorker(deps);
    try {
      inject({ path: `/${REPO}/resolve/${sha}/config.json`, skip: 1, fault: { kind: 'etag-change' } });
      const { release } = await upsertRelease(pool, REPO, sha, 'manual');
      const id = jobId.release(release.id);
      const failed = new Promise<string>((resolve, reject) => {
        events.on('failed', (e) => e.jobId === id && resolve(e.failedReason));
        events.on('completed', (e) => e.jobId === id && reject(new Error('the release job completed on changed data')));
      });
      await queues.release.add('release', { releaseId: release.id }, { jobId: id, attempts: 1 });
      assert.match(await failed, /config\.json.*changed/);
      const row = await getRelease(pool, release.id);
      assert.equal(row?.status, 'failed');
      assert.equal(row?.verdict, 'error');
      assert.match(row?.error ?? '', /config\.json.*changed while being read/);
      assert.deepEqual(await counts(release.id), { runs: 0, findings: 0, snapshots: 0 });
    } finally {
      await worker.close();
      await events.close();
    }
  });

  test('a pickle whose ranges keep coming back wrong makes its check run an error, with no finding from it', async () => {
    inject({ path: '/pytorch_model.bin', ranged: true, skip: 1, fault: { kind: 'wrong-range', shift: 4 } });
    const { release } = await upsertRelease(pool, REPO2, sha, 'manual');
    await processRelease(deps, release.id);
    const runs = await pool.query<{ id: number; check_id: string }>(
      'SELECT id, check_id FROM check_runs WHERE release_id = $1',
      [release.id],
    );
    const run = runs.rows.find((r) => r.check_id === 'pickle-weights');
    assert.ok(run, `pickle-weights run among ${runs.rows.map((r) => r.check_id).join(', ')}`);
    await processCheckRun(deps, {}, run.id);
    const stored = await pool.query<{ status: string; error: string | null }>(
      'SELECT status, error FROM check_runs WHERE id = $1',
      [run.id],
    );
    assert.equal(stored.rows[0].status, 'error');
    assert.match(stored.rows[0].error ?? '', /pytorch_model\.bin.*Content-Range/);
    const f = await pool.query('SELECT count(*) AS n FROM findings WHERE check_run_id = $1', [run.id]);
    assert.equal(Number(f.rows[0].n), 0);
  });
});
