/**
 * Benchmark of the base-model fingerprint on a 4096 × 14336 BF16 projection (117 MB a side, Mistral-7B's
 * down_proj shape): a base, and a release = base + a rank-16 update merged and rounded to BF16. Each backend runs in
 * its own child process (so its peak RSS is its own) and compares the whole tensor, then the default row sample.
 * Prints seconds, peak RSS (runner and, for torch, the Python worker), bytes read, the leading singular values and
 * the estimated rank; then the default sample's bytes for a 7B release (Mistral-7B shapes) against its size.
 *
 *   npx tsx bench/fingerprint-bench.ts [--backends cpu,torch] [--rows 4096] [--cols 14336] [--rank 16]
 */
import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { estimateRank } from '../checks/weights/delta-spectrum.ts';
import { rng, toBf16Bits } from '../infra/fixtures/safetensors-writer.ts';
import { CpuBackend } from '../lib/compute/cpu-backend.ts';
import {
  DEFAULT_DELTA_Q,
  DEFAULT_SAMPLE_BYTES,
  MAX_SAMPLE_ROWS,
  createBaseTensorProvider,
} from '../lib/compute/delta-provider.ts';
import { TorchBackend } from '../lib/compute/torch-backend.ts';
import { LocalFolderSource } from '../lib/local-source.ts';
import { buildSnapshot } from '../lib/snapshot-builder.ts';

const NAME = 'model.layers.0.mlp.down_proj.weight';
const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    backends: { type: 'string', default: 'cpu,torch' },
    rows: { type: 'string', default: '4096' },
    cols: { type: 'string', default: '14336' },
    rank: { type: 'string', default: '16' },
  },
});
const ROWS = Number(args.rows);
const COLS = Number(args.cols);
const RANK = Number(args.rank);

/** Writes base and release files block by block (the parent never holds a whole matrix). */
function writePair(dir: string): void {
  const header = (): Buffer => {
    const json = JSON.stringify({
      __metadata__: { format: 'pt' },
      [NAME]: { dtype: 'BF16', shape: [ROWS, COLS], data_offsets: [0, ROWS * COLS * 2] },
    });
    const padded = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
    const lead = Buffer.alloc(8);
    lead.writeBigUInt64LE(BigInt(padded.length));
    return Buffer.concat([lead, padded]);
  };
  for (const side of ['base', 'release']) mkdirSync(join(dir, side), { recursive: true });
  const fb = openSync(join(dir, 'base', 'model.safetensors'), 'w');
  const fr = openSync(join(dir, 'release', 'model.safetensors'), 'w');
  writeSync(fb, header());
  writeSync(fr, header());
  const rand = rng(7);
  const g = (): number => rand() + rand() + rand() - 1.5;
  const a = Float32Array.from({ length: RANK * COLS }, g);
  const scale = (0.1 * 0.02) / Math.sqrt(RANK * 0.0625);
  const block = 64;
  const wb = new Uint16Array(block * COLS);
  const wr = new Uint16Array(block * COLS);
  const b = new Float32Array(RANK);
  for (let r0 = 0; r0 < ROWS; r0 += block) {
    const n = Math.min(block, ROWS - r0);
    for (let r = 0; r < n; r++) {
      for (let k = 0; k < RANK; k++) b[k] = g();
      for (let c = 0; c < COLS; c++) {
        const w = g() * 0.04;
        let d = 0;
        for (let k = 0; k < RANK; k++) d += b[k] * a[k * COLS + c];
        wb[r * COLS + c] = toBf16Bits(w);
        wr[r * COLS + c] = toBf16Bits(w + scale * d);
      }
    }
    writeSync(fb, new Uint8Array(wb.buffer, 0, n * COLS * 2));
    writeSync(fr, new Uint8Array(wr.buffer, 0, n * COLS * 2));
  }
  closeSync(fb);
  closeSync(fr);
}

function vmHwmMB(pid: number | undefined): number | null {
  if (!pid) return null;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : null;
}

/** One backend, in this process: the whole tensor, then the default sample. Prints one JSON line. */
async function child(spec: string): Promise<void> {
  const { dir, backend: choice } = JSON.parse(spec) as { dir: string; backend: 'cpu' | 'torch' };
  const open = async (side: string) => {
    const source = new LocalFolderSource(join(dir, side));
    return { source, snapshot: await buildSnapshot(source, { repo: side, sha: 'local' }, { maxFileBytes: 1 << 20 }) };
  };
  const [release, base] = [await open('release'), await open('base')];
  const backend = choice === 'torch' ? await TorchBackend.start() : new CpuBackend();
  const out: Record<string, unknown> = { backend: backend.name, device: backend.device };
  for (const [label, sampleBytes] of [
    ['whole', Infinity],
    ['sample', DEFAULT_SAMPLE_BYTES],
  ] as const) {
    const provider = createBaseTensorProvider(release, base, backend, { sampleBytes });
    const t = release.snapshot.safetensors!.tensors[NAME];
    const t0 = performance.now();
    const d = await provider.delta(t, base.snapshot.safetensors!.tensors[NAME]);
    out[label] = {
      seconds: (performance.now() - t0) / 1000,
      rowsCompared: d.rowsCompared,
      bytesRead: d.bytesRead,
      relativeDiff: d.relativeDiff,
      rank: estimateRank(d.singularValues, d.normDelta ** 2),
      top: d.singularValues.slice(0, RANK + 3).map((v) => Number(v.toPrecision(3))),
    };
  }
  out.workerPeakRssMB = backend instanceof TorchBackend ? vmHwmMB(backend.pid) : null;
  await backend.close();
  out.runnerPeakRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify(out));
}

/** Bytes the default sample reads from a 7B release (Mistral-7B-v0.1 shapes, BF16, untied), against its size. */
function sevenB(): string {
  const [h, inter, kv, vocab, layers] = [4096, 14336, 1024, 32000, 32];
  const layer: [number, number][] = [
    [h, h],
    [kv, h],
    [kv, h],
    [h, h],
    [inter, h],
    [inter, h],
    [h, inter],
  ];
  const sampled = [[vocab, h] as [number, number], [vocab, h] as [number, number], ...layer, ...layer, ...layer];
  const read = sampled.reduce((s, [r, c]) => {
    const rows = Math.min(
      r,
      Math.max(2 * DEFAULT_DELTA_Q, Math.min(MAX_SAMPLE_ROWS, Math.floor(DEFAULT_SAMPLE_BYTES / (c * 2)))),
    );
    return s + 2 * rows * c * 2;
  }, 0);
  const total = 2 * (2 * vocab * h + layers * layer.reduce((s, [r, c]) => s + r * c, 0));
  return `7B release (Mistral-7B shapes): default sample reads ${(read / 2 ** 20).toFixed(0)} MiB (release + base) of a ${(total / 1e9).toFixed(2)} GB release = ${((100 * read) / total).toFixed(2)} %`;
}

async function main(): Promise<void> {
  if (args.child) return child(args.child);
  const dir = mkdtempSync(join(tmpdir(), 'hubwatch-fp-bench-'));
  try {
    const t0 = performance.now();
    writePair(dir);
    console.log(
      `wrote base and release ${ROWS}×${COLS} BF16 (rank-${RANK} update) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const self = fileURLToPath(import.meta.url);
    for (const backend of args.backends!.split(',')) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          self,
          '--child',
          JSON.stringify({ dir, backend }),
          '--rows',
          String(ROWS),
          '--cols',
          String(COLS),
          '--rank',
          String(RANK),
        ],
        { encoding: 'utf8', maxBuffer: 16 << 20 },
      );
      console.log(`${backend}: ${stdout.trim()}`);
    }
    console.log(sevenB());
    console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
