/**
 * Row-statistics throughput of the compute backends against numpy, side by side in one run, on a 128,256 × 4,096
 * BF16 embedding (1.05 GB): from the local file (hubwatch cpu, hubwatch torch, numpy reading the file) and over the
 * local Hub mirror (hubwatch cpu and torch through HTTP ranges, numpy reading the same 4 MiB ranges from the same
 * mirror, bench/numpy_ranges.py). Each hubwatch run is its own process (its peak RSS is its own); the backends'
 * statistics are compared (agreement). Deletes the file at the end.
 *
 *   npx tsx bench/backend-bench.ts [--backends cpu,torch] [--rows 128256] [--threads N]
 */
import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
    threads: { type: 'string' },
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

/** One hubwatch run in this process: row statistics of the whole embedding. Prints one JSON line. */
async function child(spec: string): Promise<void> {
  const { backend: choice, dir, url, sha } = JSON.parse(spec) as Record<string, string>;
  const rangeFetch = createRangeFetch();
  const source = dir ? new LocalFolderSource(dir) : new HubSource({ hubUrl: url, fetch: rangeFetch }, REPO, sha);
  const snapshot = await buildSnapshot(source, { repo: REPO, sha: sha ?? 'local' }, { maxFileBytes: 1 << 20 });
  const threads = args.threads === undefined ? undefined : Number(args.threads);
  const backend: ComputeBackend = choice === 'torch' ? await TorchBackend.start() : new CpuBackend(threads);
  const provider = createTensorStatsProvider(source, snapshot, { backend });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const s = await provider.rowStats(snapshot.safetensors!.tensors[NAME]);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
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
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      normSum,
      hashXor: hashXor >>> 0,
      zeroRows,
    }),
  );
}

const run = async (cmd: string, argv: string[]): Promise<string> =>
  (await promisify(execFile)(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout.trim().split('\n').pop()!;
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(): Promise<void> {
  if (args.child) return child(args.child);
  const tmp = mkdtempSync(join(tmpdir(), 'hubwatch-backend-bench-'));
  const mirror = await startHubMirror({ root: join(tmp, 'store') });
  try {
    mkdirSync(join(tmp, 'release'));
    const offset = writeEmbedding(join(tmp, 'release', 'model.safetensors'));
    const { sha } = await mirror.publish(REPO, join(tmp, 'release'));
    const self = fileURLToPath(import.meta.url);
    const pass = ['--rows', String(ROWS), ...(args.threads ? ['--threads', args.threads] : [])];
    const rowsOut: string[] = [];
    const hub = async (spec: object) =>
      JSON.parse(await run(process.execPath, [...process.execArgv, self, '--child', JSON.stringify(spec), ...pass]));
    for (const where of ['local', 'mirror'] as const) {
      const results: Record<string, { gbps: number; normSum?: number; hashXor?: number; maxRssMB?: number }> = {};
      for (const backend of args.backends!.split(','))
        results[`hubwatch ${backend}`] = await hub(
          where === 'local' ? { backend, dir: join(tmp, 'release') } : { backend, url: mirror.url, sha },
        );
      const np =
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
            ];
      results.numpy = JSON.parse(await run('python3', np));
      const hw = Object.entries(results).filter(([k]) => k.startsWith('hubwatch'));
      const agree = hw.every(
        ([, r]) => r.hashXor === hw[0][1].hashXor && Math.abs(r.normSum! / hw[0][1].normSum! - 1) < 1e-6,
      );
      rowsOut.push(
        `${where.padEnd(6)} ${Object.entries(results)
          .map(
            ([k, r]) => `${k}: ${r.gbps.toFixed(2)} GB/s${r.maxRssMB ? ` (peak RSS ${r.maxRssMB.toFixed(0)} MB)` : ''}`,
          )
          .join(' | ')} | backends agree: ${agree} | load ${load()}`,
      );
      console.log(rowsOut[rowsOut.length - 1]);
    }
  } finally {
    await mirror.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
