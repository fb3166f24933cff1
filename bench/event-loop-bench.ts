/**
 * The longest time the event loop is blocked while one release is snapshotted and checked by every CPU check
 * (the code a release worker and a check worker run, built from a folder the way `hubwatch scan` does), for the
 * hostile releases of test/hostile.test.ts and a real-size 128k-vocabulary Llama-3 tokenizer release. A BullMQ worker
 * renews its job locks from a timer every lockDuration / 2 (https://docs.bullmq.io/guide/workers/stalled-jobs); a
 * stretch longer than that loses the lock and the job is taken for stalled. Prints, per case, the longest block
 * (perf_hooks.monitorEventLoopDelay, 10 ms resolution), the wall time and the findings, and the largest block
 * against the workers' lock durations.
 *
 *   node --import tsx bench/event-loop-bench.ts
 */
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { llama3Files, writeReleaseFiles } from '../infra/fixtures/tokenizer/tokenizer-fixtures.ts';
import { buildFixture, fixtureByRepo } from '../infra/fixtures/fixtures.ts';
import { loadConfig } from '../lib/config.ts';
import { openTarget, scanSnapshot } from '../lib/scan.ts';

const root = mkdtempSync(join(tmpdir(), 'hubwatch-loop-bench-'));

function release(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const all = { 'config.json': JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }), ...files };
  for (const [p, content] of Object.entries(all)) writeFileSync(join(dir, p), content);
  return dir;
}

const cases: [string, () => string][] = [
  [
    'tiny clean Llama-3 (fixture)',
    () => {
      const dir = join(root, 'clean');
      buildFixture(fixtureByRepo('hubwatch-fixtures/tiny-llama3-clean'), -1, dir);
      return dir;
    },
  ],
  [
    'Llama-3 128k tokenizer files',
    () => {
      const dir = join(root, 'llama3');
      writeReleaseFiles(dir, llama3Files({}));
      return dir;
    },
  ],
  ['50 MB config.json', () => release('big-config', { 'config.json': `{"a":[${'1,'.repeat(25 << 20)}1]}` })],
  [
    'config.json nested 500k deep',
    () => release('deep', { 'config.json': `{"a":${'['.repeat(500_000)}${']'.repeat(500_000)}}` }),
  ],
  [
    'safetensors header claiming 100 MB',
    () => {
      const dir = release('huge-header', {});
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(100_000_000n);
      writeFileSync(join(dir, 'model.safetensors'), head);
      truncateSync(join(dir, 'model.safetensors'), 100_000_000 + 8 + 16);
      return dir;
    },
  ],
  [
    '1M added tokens (added_tokens.json)',
    () =>
      release('added-1m', {
        'added_tokens.json': JSON.stringify(
          Object.fromEntries(Array.from({ length: 1_000_000 }, (_, i) => [`<t${i}>`, 200_000 + i])),
        ),
      }),
  ],
  [
    '100k added tokens (tokenizer.json)',
    () =>
      release('added-100k', {
        'tokenizer.json': JSON.stringify({
          added_tokens: Array.from({ length: 100_000 }, (_, i) => ({ id: i, content: `<t${i}>`, special: true })),
          model: {},
        }),
      }),
  ],
];

const cfg = loadConfig({});
const h = monitorEventLoopDelay({ resolution: 10 });
const worst = { snapshot: 0, checks: 0 };

/** Runs `fn` with the histogram on; returns its longest event-loop block in ms and its wall time in s. */
async function blocked<T>(fn: () => Promise<T>): Promise<{ value: T; maxMs: number; wallS: number }> {
  h.reset();
  h.enable();
  const t0 = performance.now();
  const value = await fn();
  const wallS = (performance.now() - t0) / 1000;
  h.disable();
  return { value, maxMs: h.max / 1e6, wallS };
}

try {
  // The first release of a fresh process (cold: JIT, lazily built tables), then every case warm, as in a
  // long-running worker.
  const warm = cases[0][1]();
  const cold = await blocked(async () =>
    scanSnapshot(await openTarget({ kind: 'dir', path: warm }, { hubUrl: cfg.hubUrl }, cfg.maxFileBytes), {}),
  );
  process.stdout.write(
    `cold start, first release (snapshot and checks): block ${cold.maxMs.toFixed(0)} ms, ${cold.wallS.toFixed(2)} s\n`,
  );
  process.stdout.write(`${'case'.padEnd(38)} ${'snapshot (release job)'.padEnd(30)} checks (check jobs)\n`);
  for (const [label, make] of cases) {
    const dir = make();
    const snap = await blocked(() => openTarget({ kind: 'dir', path: dir }, { hubUrl: cfg.hubUrl }, cfg.maxFileBytes));
    const checks = await blocked(() => scanSnapshot(snap.value, {}));
    worst.snapshot = Math.max(worst.snapshot, snap.maxMs);
    worst.checks = Math.max(worst.checks, checks.maxMs);
    const codes = [...new Set(checks.value.findings.map((f) => f.code))].join(',') || '-';
    const cell = (x: { maxMs: number; wallS: number }): string =>
      `block ${x.maxMs.toFixed(0).padStart(6)} ms, ${x.wallS.toFixed(2).padStart(6)} s`;
    process.stdout.write(`${label.padEnd(38)} ${cell(snap).padEnd(30)} ${cell(checks)}   ${codes}\n`);
  }
  process.stdout.write(
    `\nlongest block: snapshot ${worst.snapshot.toFixed(0)} ms (release lock 30 s, renewed every 15 s), ` +
      `checks ${worst.checks.toFixed(0)} ms (check lock 120 s, renewed every 60 s); HUBWATCH_JOB_LOCK_MS sets both\n`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
