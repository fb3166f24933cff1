/**
 * The CPU backend's comparison of a release matrix with its base: decodes both sides chunk by chunk into one
 * float32 ΔW (rows × cols × 4 bytes: 235 MB for a whole 4096 × 14336 projection, far less for the default row
 * sample), accumulates the norms, the dot product and bitwise identity on the way, and ends with the randomized
 * SVD of ΔW (randomized-svd.ts). The raw chunks are not kept.
 */
import type { DeltaSession, DeltaSpec, DeltaStats, StatsDtype } from './backend.ts';
import { STATS_ITEM_SIZE } from './backend.ts';
import { lowRankSingularValues } from './randomized-svd.ts';
import { decodeRow } from './row-kernel-js.ts';

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function checkChunk(spec: DeltaSpec, firstRow: number, rows: number, data: Uint8Array, dtype: StatsDtype): void {
  const need = rows * spec.cols * STATS_ITEM_SIZE[dtype];
  if (firstRow < 0 || firstRow + rows > spec.rows) throw new Error(`rows ${firstRow}+${rows} outside 0..${spec.rows}`);
  if (data.byteLength < need) throw new Error(`chunk holds ${data.byteLength} bytes, ${rows} rows need ${need}`);
}

/** Opens a comparison computed on the calling thread. */
export function openCpuDelta(spec: DeltaSpec): DeltaSession {
  let delta: Float32Array | null = new Float32Array(spec.rows * spec.cols);
  const acc = { sumSqDelta: 0, sumSqBase: 0, sumSqRelease: 0, dot: 0, nonFinite: 0, identical: true };
  const r = new Float32Array(spec.cols);
  const b = new Float32Array(spec.cols);
  const sameDtype = spec.releaseDtype === spec.baseDtype;
  return {
    add(firstRow, rows, release, base) {
      try {
        if (!delta) throw new Error('delta session is closed');
        checkChunk(spec, firstRow, rows, release, spec.releaseDtype);
        checkChunk(spec, firstRow, rows, base, spec.baseDtype);
        const rb = spec.cols * STATS_ITEM_SIZE[spec.releaseDtype];
        const bb = spec.cols * STATS_ITEM_SIZE[spec.baseDtype];
        if (sameDtype && acc.identical && !bytesEqual(release.subarray(0, rows * rb), base.subarray(0, rows * bb)))
          acc.identical = false;
        for (let i = 0; i < rows; i++) {
          decodeRow(release, i * rb, spec.releaseDtype, spec.cols, r);
          decodeRow(base, i * bb, spec.baseDtype, spec.cols, b);
          const o = (firstRow + i) * spec.cols;
          for (let c = 0; c < spec.cols; c++) {
            const x = r[c];
            const y = b[c];
            if (!Number.isFinite(x) || !Number.isFinite(y)) {
              acc.nonFinite++;
              continue;
            }
            const d = x - y;
            delta[o + c] = d;
            acc.sumSqDelta += d * d;
            acc.sumSqBase += y * y;
            acc.sumSqRelease += x * x;
            acc.dot += x * y;
          }
        }
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e as Error);
      }
    },
    finish() {
      if (!delta) return Promise.reject(new Error('delta session is closed'));
      const d = delta;
      delta = null;
      const identical = sameDtype ? acc.identical : acc.sumSqDelta === 0 && acc.nonFinite === 0;
      const singularValues =
        acc.sumSqDelta === 0
          ? []
          : lowRankSingularValues(d, spec.rows, spec.cols, { q: spec.q, niter: spec.niter, seed: spec.seed });
      const out: DeltaStats = { ...acc, identical, singularValues };
      return Promise.resolve(out);
    },
    abort() {
      delta = null;
    },
  };
}
