/**
 * Benchmark of the untrained-token check: a 128,256 × 4,096 BF16 embedding (1.05 GB) served by the local
 * Hub mirror, scanned by the whole check through HubSource in a child process (the "runner"), against a numpy
 * baseline computing the same statistics on the same bytes from the local file, and against Python reading the same
 * 4 MiB ranges from the same mirror (bench/numpy_ranges.py); and the same check on the local folder without HTTP
 * against numpy on the file. numpy runs single-threaded. Prints GB/s of each, the ratios, CPU seconds per GB,
 * bytes fetched / tensor bytes and the runner's peak RSS; deletes the 1 GB files at the end.
 *
 *   npx tsx bench/untrained-bench.ts [--runs 2] [--threads N] [--parallel N] [--chunk-mib N]   (defaults: the library's)
 */
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { runCheck } from '../checks/run-check.ts';
import { untrainedTokens } from '../checks/weights/untrained-tokens.ts';
import { rng, toBf16Bits } from '../infra/fixtures/safetensors-writer.ts';
import { writeTinyModel } from '../infra/fixtures/tiny-model.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import { HubSource } from '../lib/hub-client.ts';
import { LocalFolderSource } from '../lib/local-source.ts';
import { createRangeFetch } from '../lib/range-fetch.ts';
import { buildSnapshot } from '../lib/snapshot-builder.ts';
import { createTensorStatsProvider } from '../lib/tensor-stats.ts';

const ROWS = 128256;
const COLS = 4096;
const TENSOR_BYTES = ROWS * COLS * 2;
const REPO = 'bench/untrained-1gb';
/** Planted zero rows: three ordinary tokens and Llama-3 base's reserved/chat-template block. */
const ZERO_ROWS = [7, 5000, 77777, ...Array.from({ length: 254 }, (_, i) => 128002 + i)];

const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    runs: { type: 'string', default: '2' },
    threads: { type: 'string' },
    parallel: { type: 'string' },
    'chunk-mib': { type: 'string' },
  },
});

/** Writes the safetensors file: a seeded 256-row block repeated (varied per block), zero rows planted. */
function writeEmbedding(path: string): number {
  const json = JSON.stringify({
    __metadata__: { format: 'pt' },
    'model.embed_tokens.weight': { dtype: 'BF16', shape: [ROWS, COLS], data_offsets: [0, TENSOR_BYTES] },
  });
  const padded = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const lead = Buffer.alloc(8);
  lead.writeBigUInt64LE(BigInt(padded.length));
  const blockRows = 256;
  const rand = rng(42);
  const base = new Uint16Array(blockRows * COLS).map(() => toBf16Bits((rand() + rand() + rand() - 1.5) * 0.04));
  const zero = new Set(ZERO_ROWS);
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.concat([lead, padded]));
  const block = new Uint16Array(base.length);
  for (let r0 = 0; r0 < ROWS; r0 += blockRows) {
    const n = Math.min(blockRows, ROWS - r0);
    const flip = (r0 / blockRows) & 0x3f;
    for (let i = 0; i < n * COLS; i++) block[i] = base[i] ^ flip;
    for (let r = 0; r < n; r++) if (zero.has(r0 + r)) block.fill(0, r * COLS, (r + 1) * COLS);
    writeSync(fd, new Uint8Array(block.buffer, 0, n * COLS * 2));
  }
  closeSync(fd);
  return 8 + padded.length;
}

/** The runner side, in its own process so its peak RSS is its own. Prints one JSON line. */
async function child(spec: string): Promise<void> {
  const { url, sha, dir } = JSON.parse(spec) as { url?: string; sha: string; dir?: string };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rangeFetch = createRangeFetch();
  // The same code path after the byte source: the mirror over HTTP ranges, or (--local runs) the folder itself.
  const source = dir ? new LocalFolderSource(dir) : new HubSource({ hubUrl: url!, fetch: rangeFetch }, REPO, sha);
  const snapshot = await buildSnapshot(source, { repo: REPO, sha }, { maxFileBytes: 64 << 20 });
  const t1 = performance.now();
  const provider = createTensorStatsProvider(source, snapshot, {
    threads: args.threads === undefined ? undefined : Number(args.threads),
    parallel: args.parallel === undefined ? undefined : Number(args.parallel),
    chunkBytes: args['chunk-mib'] === undefined ? undefined : Number(args['chunk-mib']) << 20,
  });
  const rssSnapshot = process.memoryUsage().rss;
  let statsSeconds = 0;
  const timed = {
    rowStats: async (...a: Parameters<typeof provider.rowStats>) => {
      const s = performance.now();
      try {
        return await provider.rowStats(...a);
      } finally {
        statsSeconds += (performance.now() - s) / 1000;
      }
    },
  };
  const result = await runCheck(untrainedTokens, { release: snapshot, tensors: timed });
  const t2 = performance.now();
  await provider.close();
  await rangeFetch.close();
  const cpu = process.cpuUsage(cpu0);
  const ids = (r: [number, number][]) => r.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
  console.log(
    JSON.stringify({
      status: result.status,
      error: result.error,
      snapshotSeconds: (t1 - t0) / 1000,
      checkSeconds: (t2 - t1) / 1000,
      statsSeconds,
      rssAfterSnapshotMB: rssSnapshot / 2 ** 20,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      bytesRead: provider.bytesRead,
      directBytes: rangeFetch.directBytes,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      findings: result.findings.map((f) => ({
        code: f.code,
        severity: f.severity,
        ids: ids(f.evidence.ids as [number, number][]),
      })),
    }),
  );
}

/** numpy single-threaded (its BLAS/OpenMP pools pinned to one thread), as its baselines say. */
const oneThread = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const run = async (cmd: string, argv: string[]): Promise<string> =>
  (await promisify(execFile)(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, env: oneThread })).stdout;
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const gbps = (seconds: number): number => TENSOR_BYTES / seconds / 1e9;

interface ChildResult {
  status: string;
  error?: string;
  snapshotSeconds: number;
  checkSeconds: number;
  cpuSeconds: number;
  statsSeconds: number;
  rssAfterSnapshotMB: number;
  bytesRead: number;
  /** Body bytes the sockets read straight into the chunks' (shared kernel) memory. */
  directBytes: number;
  maxRssMB: number;
  findings: { code: string; severity: string; ids: number[] }[];
}

interface NumpyResult {
  seconds: number;
  cpuSeconds: number;
  gbps: number;
  zeroRows: number[];
}
interface Run {
  hw: ChildResult;
  local: ChildResult;
  served: number;
  weightServed: number;
  np: NumpyResult;
  /** Python reading the same ranges from the same mirror. */
  npMirror: NumpyResult;
  loads: string[];
  mirrorCpuSeconds: number;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'hubwatch-bench-'));
  const mirror = await startHubMirror({ root: join(tmp, 'store') });
  try {
    const release = join(tmp, 'release');
    writeTinyModel(release, {
      corrected: true,
      tied: true,
      omit: ['model.safetensors'],
      config: { hidden_size: COLS },
    });
    let t = performance.now();
    const dataStart = writeEmbedding(join(release, 'model.safetensors'));
    console.error(`wrote ${(TENSOR_BYTES / 1e9).toFixed(2)} GB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    const { sha } = await mirror.publish(REPO, release);
    console.error(`published to the mirror in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const self = fileURLToPath(import.meta.url);
    const passArgs = (['threads', 'parallel', 'chunk-mib'] as const).flatMap((k) =>
      args[k] === undefined ? [] : [`--${k}`, args[k]!],
    );
    const runs: Run[] = [];
    for (let i = 0; i < Number(args.runs); i++) {
      mirror.resetStats();
      const loadHw = load();
      const cpu0 = process.cpuUsage();
      // Asynchronously: the mirror serving the child runs on this process's event loop.
      const out = await run(process.execPath, [
        ...process.execArgv,
        self,
        '--child',
        JSON.stringify({ url: mirror.url, sha }),
        ...passArgs,
      ]);
      const hw = JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
      const mirrorCpu = process.cpuUsage(cpu0);
      const weightServed = mirror.stats.requests
        .filter((r) => r.path.includes('model.safetensors'))
        .reduce((a, r) => a + r.bytes, 0);
      // Before Python reads the same ranges from the same mirror.
      const served = mirror.stats.bytesServed;
      const loadNp = load();
      const npMirror = JSON.parse(
        await run('python3', [
          join(self, '..', 'numpy_ranges.py'),
          `${mirror.url}/${REPO}/resolve/${sha}/model.safetensors`,
          String(dataStart),
          String(ROWS),
          String(COLS),
        ]),
      ) as NumpyResult;
      const np = JSON.parse(
        await run('python3', [
          join(self, '..', 'numpy_baseline.py'),
          join(release, 'model.safetensors'),
          String(dataStart),
          String(ROWS),
          String(COLS),
        ]),
      ) as NumpyResult;
      const local = JSON.parse(
        (
          await run(process.execPath, [
            ...process.execArgv,
            self,
            '--child',
            JSON.stringify({ dir: release, sha: 'local' }),
            ...passArgs,
          ])
        )
          .trim()
          .split('\n')
          .pop()!,
      ) as ChildResult;
      runs.push({
        hw,
        local,
        served,
        weightServed,
        np,
        npMirror,
        loads: [loadHw, loadNp],
        mirrorCpuSeconds: (mirrorCpu.user + mirrorCpu.system) / 1e6,
      });
    }
    report(runs, dataStart);
  } finally {
    await mirror.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function report(runs: Run[], dataStart: number): void {
  for (const [i, r] of runs.entries()) {
    const hwIds = r.hw.findings
      .filter((f) => f.code.startsWith('UNTRAINED'))
      .flatMap((f) => f.ids)
      .sort((a, b) => a - b);
    console.log(
      `run ${i + 1}: hubwatch ${gbps(r.hw.checkSeconds).toFixed(2)} GB/s (check ${r.hw.checkSeconds.toFixed(2)} s of which row stats ${r.hw.statsSeconds.toFixed(2)} s, cpu ${r.hw.cpuSeconds.toFixed(2)} s, snapshot ${r.hw.snapshotSeconds.toFixed(2)} s, status ${r.hw.status}${r.hw.error ? ` ${r.hw.error}` : ''}) | numpy ${r.np.gbps.toFixed(2)} GB/s (${r.np.seconds.toFixed(2)} s) | ratio ${(gbps(r.hw.checkSeconds) / r.np.gbps).toFixed(2)}× | load before: hubwatch ${r.loads[0]}, numpy ${r.loads[1]}`,
    );
    console.log(
      `       bytes: tensor ${TENSOR_BYTES}, read by the check ${r.hw.bytesRead} (${r.hw.directBytes} of them read by the socket straight into kernel memory), served from model.safetensors ${r.weightServed} (${(r.weightServed / TENSOR_BYTES).toFixed(6)} × tensor; header ${dataStart} B), all requests ${r.served} | runner peak RSS ${r.hw.maxRssMB.toFixed(0)} MB (${r.hw.rssAfterSnapshotMB.toFixed(0)} MB after the snapshot)`,
    );
    const gb = TENSOR_BYTES / 1e9;
    console.log(
      `       CPU s per GB: runner ${(r.hw.cpuSeconds / gb).toFixed(2)} (whole child after start-up: snapshot, workers, check), mirror server ${(r.mirrorCpuSeconds / gb).toFixed(2)}, numpy ${(r.np.cpuSeconds / gb).toFixed(2)} | row stats alone ${gbps(r.hw.statsSeconds).toFixed(2)} GB/s`,
    );
    console.log(
      `       over the mirror: Python reading the same ranges from the same mirror ${r.npMirror.gbps.toFixed(2)} GB/s (${(r.npMirror.cpuSeconds / gb).toFixed(2)} CPU s/GB) | hubwatch ratio ${(gbps(r.hw.checkSeconds) / r.npMirror.gbps).toFixed(2)}×`,
    );
    console.log(
      `       same check on the local folder (LocalFolderSource, no HTTP): ${gbps(r.local.checkSeconds).toFixed(2)} GB/s (row stats ${gbps(r.local.statsSeconds).toFixed(2)} GB/s, ${(r.local.cpuSeconds / gb).toFixed(2)} CPU s/GB), RSS ${r.local.maxRssMB.toFixed(0)} MB, status ${r.local.status} | vs numpy on the file: check ${(gbps(r.local.checkSeconds) / r.np.gbps).toFixed(2)}×, row stats ${(gbps(r.local.statsSeconds) / r.np.gbps).toFixed(2)}×`,
    );
    console.log(
      `       findings: ${r.hw.findings.map((f) => `${f.code}/${f.severity} ${f.ids.length}`).join(', ')} | untrained ids = planted zero rows: ${JSON.stringify(hwIds) === JSON.stringify(ZERO_ROWS)} | numpy zero rows = planted: ${JSON.stringify(r.np.zeroRows) === JSON.stringify(ZERO_ROWS)}`,
    );
  }
  const best = (xs: number[]): number => Math.max(...xs);
  const hw = best(runs.map((r) => gbps(r.hw.checkSeconds)));
  const np = best(runs.map((r) => r.np.gbps));
  console.log(
    `best: hubwatch ${hw.toFixed(2)} GB/s, numpy ${np.toFixed(2)} GB/s, ratio ${(hw / np).toFixed(2)}×, peak RSS ${Math.max(...runs.map((r) => r.hw.maxRssMB)).toFixed(0)} MB, bytes/tensor ${Math.max(...runs.map((r) => r.weightServed / TENSOR_BYTES)).toFixed(6)}`,
  );
}

if (args.child) await child(args.child);
else await main();
