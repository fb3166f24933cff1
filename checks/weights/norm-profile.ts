/**
 * Compact, JSON-friendly evidence of weight statistics: a downsampled row-norm profile for the status page's plot,
 * id ranges, and per-row values.
 */
import type { RowStats } from '../types.ts';

/** Row norms of one matrix, downsampled to at most `buckets` buckets of consecutive rows. */
export interface NormProfile {
  tensor: string;
  rows: number;
  /** Rows per bucket (the last bucket may hold fewer). Bucket i covers rows [i·bucketRows, (i+1)·bucketRows). */
  bucketRows: number;
  min: number[];
  median: number[];
  max: number[];
  /** Median row norm of the whole matrix, and the near-zero threshold derived from it. */
  medianNorm: number;
  threshold: number;
}

/** Rounds to 4 significant digits (the plot needs no more, and the JSON stays small). */
export function sig4(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x;
}

/** Builds the profile; NaN norms (rows with non-finite values) are left out of their bucket. */
export function normProfile(s: RowStats, medianNorm: number, threshold: number, maxBuckets = 512): NormProfile {
  const bucketRows = Math.max(1, Math.ceil(s.rows / maxBuckets));
  const p: NormProfile = {
    tensor: s.tensor,
    rows: s.rows,
    bucketRows,
    min: [],
    median: [],
    max: [],
    medianNorm: sig4(medianNorm),
    threshold: sig4(threshold),
  };
  const bad = new Set(s.nonFinite.map((n) => n.row));
  for (let start = 0; start < s.rows; start += bucketRows) {
    const vals: number[] = [];
    for (let r = start; r < Math.min(s.rows, start + bucketRows); r++) if (!bad.has(r)) vals.push(s.norm[r]);
    vals.sort((a, b) => a - b);
    p.min.push(vals.length ? sig4(vals[0]) : 0);
    p.median.push(vals.length ? sig4(vals[vals.length >> 1]) : 0);
    p.max.push(vals.length ? sig4(vals[vals.length - 1]) : 0);
  }
  return p;
}

/** Ascending ids as inclusive ranges: [1,2,3,7] → [[1,3],[7,7]]. */
export function idRanges(ids: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const id of ids) {
    const last = out[out.length - 1];
    if (last && id === last[1] + 1) last[1] = id;
    else out.push([id, id]);
  }
  return out;
}

/** One row's statistics, rounded for evidence. */
export function rowValues(s: RowStats, row: number): { max: number; absMax: number; norm: number; mean: number } {
  return { max: sig4(s.max[row]), absMax: sig4(s.absMax[row]), norm: sig4(s.norm[row]), mean: sig4(s.mean[row]) };
}
