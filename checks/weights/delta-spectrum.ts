/**
 * What the difference between a release tensor and its base's says, from the norms and the leading singular values
 * of ΔW = W_release − W_base (Halko et al. randomized SVD, computed by the compute backend):
 * - ΔW = 0: the tensor is unchanged;
 * - a few singular values far above a flat tail (the BF16 rounding noise a merge leaves), holding most of ‖ΔW‖²:
 *   a merged low-rank update, ΔW = B·A (LoRA, Hu et al. 2021, arXiv:2106.09685, merges W + (α/r)·B·A);
 * - ‖ΔW‖ ≥ ‖W_base‖ with release and base uncorrelated: not derived from the base (two independent matrices of
 *   the same scale differ by √2·‖W‖);
 * - otherwise a full-rank change: an ordinary fine-tune.
 */
import type { TensorDelta } from '../types.ts';

export type DeltaKind = 'unchanged' | 'low-rank' | 'full-rank' | 'unrelated';

/** Least ratio between the last singular value of the update and the first of the noise tail. */
export const RANK_GAP = 4;
/** Most spread of the tail after the gap: rounding noise has a flat top spectrum. */
const TAIL_SPREAD = 3;
/** Singular values below this fraction of the first are numerically zero (an exact low-rank ΔW). */
const NUMERIC_ZERO = 1e-5;
/** Least share of ‖ΔW‖² the leading values must hold to call the update low-rank. */
const LOW_RANK_ENERGY = 0.5;
/** Tail values kept after a candidate rank, so a flat tail can be seen at all. */
const MIN_TAIL = 4;

/**
 * The rank of a low-rank ΔW with noise, or null when the sketched spectrum shows no such cut (full rank, or a rank
 * too close to the sketch size to tell). `sumSqDelta` is ‖ΔW‖² over the same rows.
 */
export function estimateRank(sv: number[], sumSqDelta: number): number | null {
  const n = sv.length;
  if (n < MIN_TAIL + 2 || !(sv[0] > 0)) return null;
  let best = 0;
  let ratio = 0;
  for (let r = 1; r <= n - MIN_TAIL; r++) {
    const g = sv[r] > 0 ? sv[r - 1] / sv[r] : Infinity;
    if (g > ratio) {
      ratio = g;
      best = r;
    }
  }
  if (ratio < RANK_GAP) return null;
  const numericZero = sv[best] <= NUMERIC_ZERO * sv[0];
  if (!numericZero && sv[best] > TAIL_SPREAD * sv[n - 1]) return null;
  let lead = 0;
  for (let i = 0; i < best; i++) lead += sv[i] ** 2;
  if (sumSqDelta > 0 && lead / sumSqDelta < LOW_RANK_ENERGY) return null;
  return best;
}

/** Relative difference from which a tensor may be unrelated to the base (independent matrices give ≈ √2). */
export const UNRELATED_RELATIVE_DIFF = 1;
/** Most correlation between release and base for "unrelated" (a fine-tune keeps a cosine near 1). */
const UNRELATED_COSINE = 0.5;

/** The kind of change one tensor shows, with the estimated rank of a low-rank one. */
export function classifyDelta(d: TensorDelta): { kind: DeltaKind; rank: number | null } {
  if (d.identical) return { kind: 'unchanged', rank: 0 };
  const rank = estimateRank(d.singularValues, d.normDelta ** 2);
  if (rank !== null && rank < Math.min(d.rowsCompared, d.cols)) return { kind: 'low-rank', rank };
  if (d.relativeDiff >= UNRELATED_RELATIVE_DIFF && Math.abs(d.cosine) < UNRELATED_COSINE)
    return { kind: 'unrelated', rank: null };
  return { kind: 'full-rank', rank: null };
}
