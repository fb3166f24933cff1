/**
 * Row-statistics throughput of the compute backends against numpy, side by side in one run, on a 128,256 × 4,096
 * BF16 embedding (1.05 GB): from the local file (hubwatch, numpy reading the file in 256-row chunks into one reused
 * buffer, bench/numpy_baseline.py) and over the local Hub mirror (hubwatch through HTTP ranges, Python reading the
 * same 4 MiB ranges from the same mirror and computing the same statistics, bench/numpy_ranges.py). numpy runs
 * single-threaded (its BLAS/OpenMP pools pinned to one thread); hubwatch's CPU backend runs with each thread count
 * of --threads (default: 1 and one per core, so one run shows what the split over the cores gives); from the file
 * each thread count runs twice: chunks read into shared kernel memory and computed in place (the default), and
 * "copied": read into plain buffers, transferred to a worker and copied once into its kernel memory. Each run is its
 * own process (its peak RSS is its own); per run it prints GB/s, the ratio to numpy, CPU seconds per GB, peak RSS,
 * each thread's CPU use over the run (main thread, each compute worker, the rest: libuv, V8) and, over the mirror,
 * the mirror server's CPU seconds per GB (it runs in this process). The statistics of every hubwatch run must be
 * bit-identical (row norms and fingerprints) and their zero rows equal numpy's. Deletes the file at the end.
 *
 *   npx tsx bench/backend-bench.ts [--backends cpu,torch] [--rows 128256] [--threads 1,2] [--where local,mirror]
 */
import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { rng, toBf16Bits } from '../infra/fixtures/safetensors-writer.ts';
import { startHubMirror } from '../infra/hub-mirror/server.ts';
import type { ComputeBackend } from '../lib/compute/backend.ts';
import { CpuBackend } from '../lib/compute/cpu-backend.ts';
import { TorchBackend } from '../lib/compute/torch-backend.ts';
import { HubSource } from '../lib/hub-client.ts';
import { LocalFolderSource } from '../lib/local-source.ts';
import { createRangeFetch } from '../lib/range-fetch.ts';
import { buildSnapshot } from '../lib/snapshot-builder.ts';
import { createTensorStatsProvider } from '../lib/tensor-stats.ts';

const COLS = 4096;
const REPO = 'bench/embedding-1gb';
const NAME = 'model.embed_tokens.weight';
const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    backends: { type: 'string', default: 'cpu,torch' },
    rows: { type: 'string', default: '128256' },
    threads: { type: 'string', default: `1,${availableParallelism()}` },
    where: { type: 'string', default: 'local,mirror' },
  },
});
const ROWS = Number(args.rows);
const BYTES = ROWS * COLS * 2;

/** Writes the embedding: a seeded 256-row block repeated with a per-block variation, row 7 zero. */
function writeEmbedding(path: string): number {
  const json = JSON.stringify({ [NAME]: { dtype: 'BF16', shape: [ROWS, COLS], data_offsets: [0, BYTES] } });
  const padded = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const lead = Buffer.alloc(8);
  lead.writeBigUInt64LE(BigInt(padded.length));
  const rand = rng(42);
  const base = new Uint16Array(256 * COLS).map(() => toBf16Bits((rand() + rand() + rand() - 1.5) * 0.04));
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.concat([lead, padded]));
  const block = new Uint16Array(base.length);
  for (let r0 = 0; r0 < ROWS; r0 += 256) {
    const n = Math.min(256, ROWS - r0);
    for (let i = 0; i < n * COLS; i++) block[i] = base[i] ^ ((r0 / 256) & 0x3f);
    if (r0 === 0) block.fill(0, 7 * COLS, 8 * COLS);
    writeSync(fd, new Uint8Array(block.buffer, 0, n * COLS * 2));
  }
  closeSync(fd);
  return 8 + padded.length;
}

/** CPU clock ticks (utime + stime) of each thread of this process, from /proc (Linux; empty elsewhere). */
function threadTicks(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const t of readdirSync('/proc/self/task')) {
      const f = readFileSync(`/proc/self/task/${t}/stat`, 'latin1');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), Number(rest[11]) + Number(rest[12]));
    }
  } catch {
    // Not Linux: no per-thread figures.
  }
  return out;
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** One hubwatch run in this process: row statistics of the whole embedding. Prints one JSON line. */
async function child(spec: string): Promise<void> {
  const { backend: choice, dir, url, sha, threads, copied } = JSON.parse(spec) as Record<string, string>;
  const rangeFetch = createRangeFetch();
  const source = dir ? new LocalFolderSource(dir) : new HubSource({ hubUrl: url, fetch: rangeFetch }, REPO, sha);
  const snapshot = await buildSnapshot(source, { repo: REPO, sha: sha ?? 'local' }, { maxFileBytes: 1 << 20 });
  const cpuBackend = choice === 'torch' ? null : new CpuBackend(Number(threads), { inPlace: !copied });
  const backend: ComputeBackend = cpuBackend ?? (await TorchBackend.start());
  const provider = createTensorStatsProvider(source, snapshot, { backend });
  // Let the workers start (and report their thread ids) before the clock starts.
  await backend.rowStats({ data: new Uint8Array(16), dtype: 'BF16', rows: 1, cols: 8 });
  const ticks0 = threadTicks();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const s = await provider.rowStats(snapshot.safetensors!.tensors[NAME]);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const ticks1 = threadTicks();
  const workers = new Set(cpuBackend?.workerThreadIds ?? []);
  const used = (tid: number): number => ((ticks1.get(tid) ?? 0) - (ticks0.get(tid) ?? 0)) / TICKS;
  const threadCpu = {
    main: used(process.pid),
    workers: [...workers].map(used),
    other: [...ticks1.keys()].filter((t) => t !== process.pid && !workers.has(t)).reduce((a, t) => a + used(t), 0),
  };
  await provider.close();
  rangeFetch.close();
  let normSum = 0;
  let hashXor = 0;
  for (let r = 0; r < s.rows; r++) {
    normSum += s.norm[r];
    hashXor ^= s.roundedHash[2 * r] ^ s.roundedHash[2 * r + 1];
  }
  const zeroRows = [...s.norm.keys()].filter((r) => s.norm[r] === 0);
  console.log(
    JSON.stringify({
      backend: backend.name,
      device: backend.device,
      seconds,
      gbps: BYTES / seconds / 1e9,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      threadCpu,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      normSum,
      hashXor: hashXor >>> 0,
      zeroRows,
    }),
  );
}

interface RunResult {
  backend?: string;
  seconds: number;
  gbps: number;
  cpuSeconds: number;
  maxRssMB: number;
  threadCpu?: { main: number; workers: number[]; other: number };
  normSum?: number;
  hashXor?: number;
  zeroRows: number[];
  /** The mirror server's CPU seconds while this run read from it. */
  serverCpuSeconds?: number;
  load: string;
}

const run = async (cmd: string, argv: string[], env?: NodeJS.ProcessEnv): Promise<string> =>
  (await promisify(execFile)(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, env })).stdout
    .trim()
    .split('\n')
    .pop()!;
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const GB = (): number => BYTES / 1e9;

/** One line per run: throughput, ratio to numpy, CPU per GB, peak RSS, per-thread CPU as a share of the run. */
function describe(name: string, r: RunResult, np: RunResult): string {
  const pct = (cpuSeconds: number): string => `${((cpuSeconds / r.seconds) * 100).toFixed(0)}%`;
  const threads = r.threadCpu
    ? ` | threads: main ${pct(r.threadCpu.main)}, workers ${r.threadCpu.workers.map(pct).join(' ') || '-'}, other ${pct(r.threadCpu.other)}`
    : '';
  const server = r.serverCpuSeconds === undefined ? '' : `, mirror server ${(r.serverCpuSeconds / GB()).toFixed(2)}`;
  return (
    `  ${name.padEnd(22)} ${r.gbps.toFixed(2)} GB/s (${r.seconds.toFixed(2)} s) ×${(r.gbps / np.gbps).toFixed(2)} numpy` +
    ` | CPU s/GB ${(r.cpuSeconds / GB()).toFixed(2)}${server} | peak RSS ${r.maxRssMB.toFixed(0)} MB${threads} | load ${r.load}`
  );
}

async function main(): Promise<void> {
  if (args.child) return child(args.child);
  const tmp = mkdtempSync(join(tmpdir(), 'hubwatch-backend-bench-'));
  const mirror = await startHubMirror({ root: join(tmp, 'store') });
  try {
    mkdirSync(join(tmp, 'release'));
    const offset = writeEmbedding(join(tmp, 'release', 'model.safetensors'));
    const { sha } = await mirror.publish(REPO, join(tmp, 'release'));
    const self = fileURLToPath(import.meta.url);
    const pass = ['--rows', String(ROWS)];
    /** Runs a child process while this process serves the mirror; its CPU time here is the server's. */
    const timed = async (go: () => Promise<string>): Promise<RunResult> => {
      const before = load();
      const cpu0 = process.cpuUsage();
      const r = JSON.parse(await go()) as RunResult;
      const cpu = process.cpuUsage(cpu0);
      return { ...r, serverCpuSeconds: (cpu.user + cpu.system) / 1e6, load: before };
    };
    // numpy single-threaded, as the baseline's docstring says.
    const npEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    console.log(
      `${(BYTES / 1e9).toFixed(2)} GB BF16 embedding (${ROWS} × ${COLS}); ${availableParallelism()} cores; hubwatch also computes the rounded-row fingerprint, numpy does not`,
    );
    for (const where of args.where!.split(',') as ('local' | 'mirror')[]) {
      const results: [string, RunResult][] = [];
      const np = await timed(() =>
        run(
          'python3',
          where === 'local'
            ? [
                join(self, '..', 'numpy_baseline.py'),
                join(tmp, 'release', 'model.safetensors'),
                String(offset),
                String(ROWS),
                String(COLS),
              ]
            : [
                join(self, '..', 'numpy_ranges.py'),
                `${mirror.url}/${REPO}/resolve/${sha}/model.safetensors`,
                String(offset),
                String(ROWS),
                String(COLS),
              ],
          npEnv,
        ),
      );
      if (where === 'local') delete np.serverCpuSeconds;
      for (const backend of args.backends!.split(',')) {
        const variants =
          backend !== 'cpu'
            ? [{ threads: '-', copied: '' }]
            : args.threads!.split(',').flatMap((threads) => [
                { threads, copied: '' },
                // Also with chunks read into plain buffers (transferred, copied once by the worker): from the file, and
                // over the mirror (pooled HTTP bodies instead of bodies the socket reads into kernel memory).
                { threads, copied: '1' },
              ]);
        for (const { threads, copied } of variants) {
          const spec = where === 'local' ? { dir: join(tmp, 'release'), copied } : { url: mirror.url, sha };
          const r = await timed(() =>
            run(process.execPath, [
              ...process.execArgv,
              self,
              '--child',
              JSON.stringify({ backend, threads, ...spec }),
              ...pass,
            ]),
          );
          if (where === 'local') delete r.serverCpuSeconds;
          const name = backend === 'cpu' ? `hubwatch cpu×${threads}${copied ? ' copied' : ''}` : `hubwatch ${backend}`;
          results.push([name, r]);
        }
      }
      const label = where === 'local' ? 'local file' : 'over the mirror (HTTP ranges, 4 MiB)';
      console.log(`${label}:`);
      console.log(describe(where === 'local' ? 'numpy (file)' : 'python+numpy (ranges)', np, np));
      for (const [name, r] of results) console.log(describe(name, r, np));
      const [first] = results;
      const cpuRuns = results.filter(([k]) => k.startsWith('hubwatch cpu'));
      const identical = cpuRuns.every(([, r]) => r.hashXor === first[1].hashXor && r.normSum === first[1].normSum);
      const agree = results.every(
        ([, r]) => r.hashXor === first[1].hashXor && Math.abs(r.normSum! / first[1].normSum! - 1) < 1e-6,
      );
      const zeros = results.every(([, r]) => JSON.stringify(r.zeroRows) === JSON.stringify(np.zeroRows));
      console.log(
        `  cpu thread counts bit-identical: ${identical} | backends agree: ${agree} | zero rows = numpy's: ${zeros}`,
      );
    }
  } finally {
    await mirror.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
