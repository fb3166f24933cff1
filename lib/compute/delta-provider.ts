/**
 * The BaseTensorProvider of the runner and the CLI: reads the same rows of a release tensor and of the base's
 * tensor of the same name by ranged reads (never a whole shard or tensor unless the sample covers it), streams
 * them chunk by chunk into a compute backend's delta session, and returns the comparison. Rows are sampled in a
 * few evenly spaced blocks of the rows both tensors have, so a resized vocabulary is compared on its common rows.
 */
import type { BaseTensorProvider, DeltaOptions, Snapshot, TensorDelta, TensorInfo } from '../../checks/types.ts';
import { UnsupportedTensorError } from '../../checks/weights/tensor-errors.ts';
import type { ByteSource } from '../byte-source.ts';
import { SourceError } from '../byte-source.ts';
import { locateTensor } from '../tensor-stats.ts';
import type { ComputeBackend, StatsDtype } from './backend.ts';

/** Default bytes read per tensor and side: 8 MiB, ~2.5 % of a 7B BF16 release for 23 tensors × 2 sides. */
export const DEFAULT_SAMPLE_BYTES = 8 << 20;
/** Default singular values per tensor (torch.svd_lowrank's q); ranks up to ~q − 8 are told from full rank. */
export const DEFAULT_DELTA_Q = 32;
/** Most rows compared per tensor: enough for identity, norms and ranks ≪ q; bounds a narrow matrix's work. */
export const MAX_SAMPLE_ROWS = 4096;
const NITER = 2;
const BLOCKS = 4;
const CHUNK_BYTES = 4 << 20;

export interface Opened {
  source: ByteSource;
  snapshot: Snapshot;
}

export interface DeltaProviderOptions {
  /** Bytes read per tensor and side at most; Infinity reads whole tensors. */
  sampleBytes?: number;
  /** Decoder layers to sample (null: first, middle and last). */
  layers?: number[] | null;
  q?: number;
  seed?: number;
}

/** Evenly spaced blocks of `take` rows out of `total`: [firstRow, rows] pairs, ascending, not overlapping. */
export function sampleBlocks(total: number, take: number): { firstRow: number; rows: number }[] {
  if (take >= total) return [{ firstRow: 0, rows: total }];
  const n = Math.min(BLOCKS, take);
  const per = Math.floor(take / n);
  const blocks: { firstRow: number; rows: number }[] = [];
  for (let i = 0; i < n; i++) {
    const rows = i === n - 1 ? take - per * (n - 1) : per;
    const firstRow = n === 1 ? 0 : Math.floor((i * (total - rows)) / (n - 1));
    blocks.push({ firstRow, rows });
  }
  return blocks;
}

async function readRows(o: Opened, t: TensorInfo, firstRow: number, rows: number): Promise<Uint8Array> {
  const { layout } = locateTensor(o.snapshot, t);
  const from = layout.start + firstRow * layout.rowBytes;
  const want = rows * layout.rowBytes;
  const data = await o.source.readRange(layout.file, from, from + want);
  if (data.byteLength !== want)
    throw new SourceError(`short read of ${layout.file}: wanted ${want} bytes at ${from}, got ${data.byteLength}`);
  return data;
}

/** Creates the provider over the release and the base; `backend` is not closed by it. */
export function createBaseTensorProvider(
  release: Opened,
  base: Opened,
  backend: ComputeBackend,
  opts: DeltaProviderOptions = {},
): BaseTensorProvider & { readonly bytesRead: number } {
  const sampleBytes = opts.sampleBytes ?? DEFAULT_SAMPLE_BYTES;
  let total = 0;
  return {
    backend: backend.name,
    device: backend.device,
    sampleBytes,
    layers: opts.layers ?? null,
    get bytesRead() {
      return total;
    },
    async delta(rt: TensorInfo, bt: TensorInfo, o: DeltaOptions = {}): Promise<TensorDelta> {
      const r = locateTensor(release.snapshot, rt);
      const b = locateTensor(base.snapshot, bt);
      if (r.cols !== b.cols)
        throw new UnsupportedTensorError(
          `${rt.name}: rows hold ${r.cols} values in the release, ${b.cols} in the base`,
        );
      const common = Math.min(r.layout.rows, b.layout.rows);
      const rowBytes = Math.max(r.layout.rowBytes, b.layout.rowBytes);
      const q = o.q ?? opts.q ?? DEFAULT_DELTA_Q;
      const budget = Math.min(MAX_SAMPLE_ROWS, Math.floor(sampleBytes / rowBytes));
      const take = sampleBytes === Infinity ? common : Math.min(common, Math.max(2 * q, budget));
      const spec = {
        rows: take,
        cols: r.cols,
        releaseDtype: rt.dtype as StatsDtype,
        baseDtype: bt.dtype as StatsDtype,
        q,
        niter: NITER,
        seed: opts.seed ?? 0x5eed,
      };
      const session = backend.openDelta(spec);
      let bytes = 0;
      try {
        let local = 0;
        for (const block of sampleBlocks(common, take)) {
          const per = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
          for (let i = 0; i < block.rows; i += per) {
            o.signal?.throwIfAborted();
            const n = Math.min(per, block.rows - i);
            const [rd, bd] = await Promise.all([
              readRows(release, rt, block.firstRow + i, n),
              readRows(base, bt, block.firstRow + i, n),
            ]);
            bytes += rd.byteLength + bd.byteLength;
            await session.add(local, n, rd, bd);
            local += n;
          }
        }
      } catch (e) {
        session.abort();
        throw e;
      } finally {
        total += bytes;
      }
      const s = await session.finish();
      const normBase = Math.sqrt(s.sumSqBase);
      const normRelease = Math.sqrt(s.sumSqRelease);
      const normDelta = Math.sqrt(s.sumSqDelta);
      return {
        tensor: rt.name,
        releaseShape: rt.shape,
        baseShape: bt.shape,
        commonRows: common,
        rowsCompared: take,
        cols: r.cols,
        identical: s.identical,
        relativeDiff: normBase > 0 ? normDelta / normBase : normDelta > 0 ? Infinity : 0,
        cosine: normBase > 0 && normRelease > 0 ? s.dot / (normBase * normRelease) : 0,
        normBase,
        normDelta,
        singularValues: s.singularValues,
        nonFinite: s.nonFinite,
        bytesRead: bytes,
      };
    },
  };
}
