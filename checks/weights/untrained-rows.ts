/**
 * Which token rows of the embedding / lm_head were never trained, from per-row statistics alone.
 *
 * Two rules, a row is a candidate in a matrix when either holds:
 * 1. Unsloth's rule (unsloth-zoo `tokenizer_utils.py` `fix_untrained_tokens`, eps = 1e-16): the row's maximum
 *    (not max |x|) is ≤ 1e-16 in the embedding; in lm_head the same, or the row is a duplicate of another candidate
 *    row after rounding to 3 decimals (added because Llama 3.1 base's lm_head rows were identical, not zero).
 * 2. A scale-free near-zero rule: the row's L2 norm is at most 1 % of the median row norm of its matrix. Rows
 *    initialised with tiny noise (std ~1e-5 against trained rows of std ~1e-2) pass rule 1 but sit three orders of
 *    magnitude below the median; rarely seen but trained tokens sit within one order (cf. the norm indicator of
 *    "Fishing for Magikarp", arXiv 2405.05417, which ranks such tokens but needs prompting to confirm them).
 * A token is untrained when its embedding row is a candidate and, when lm_head is untied, its lm_head row is one
 * too (Unsloth's AND). Rows holding NaN/Inf are excluded here; they are reported as NONFINITE_WEIGHTS.
 */
import type { RowStats } from '../types.ts';

export const UNSLOTH_EPS = 1e-16;
export const NEAR_ZERO_NORM_RATIO = 0.01;

export type UntrainedRule = 'max<=1e-16' | 'near-zero-norm' | 'duplicate-rounded-row';

export interface UntrainedRows {
  /** Untrained token ids, ascending. */
  rows: number[];
  /** Which rules fired, per matrix, for each untrained row. */
  reasons: Map<number, { embedding: UntrainedRule[]; lmHead: UntrainedRule[] }>;
  medianNorm: { embedding: number; lmHead: number | null };
  /** Rows compared (the smaller matrix when embedding and lm_head differ, as Unsloth truncates). */
  compared: number;
}

/** Median L2 norm over the rows with finite values. */
export function medianNorm(s: RowStats): number {
  const bad = new Set(s.nonFinite.map((n) => n.row));
  const vals = new Float32Array(s.rows - bad.size);
  let k = 0;
  for (let r = 0; r < s.rows; r++) if (!bad.has(r)) vals[k++] = s.norm[r];
  if (vals.length === 0) return 0;
  vals.sort();
  const mid = vals.length >> 1;
  return vals.length % 2 ? vals[mid] : (vals[mid - 1] + vals[mid]) / 2;
}

function rowRules(s: RowStats, row: number, threshold: number): UntrainedRule[] {
  const rules: UntrainedRule[] = [];
  if (s.max[row] <= UNSLOTH_EPS) rules.push('max<=1e-16');
  if (s.norm[row] <= threshold) rules.push('near-zero-norm');
  return rules;
}

/** lm_head rows among `rows` whose rounded fingerprint occurs at least twice among them. */
function duplicateRows(s: RowStats, rows: number[]): Set<number> {
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const key = `${s.roundedHash[2 * r]}:${s.roundedHash[2 * r + 1]}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const out = new Set<number>();
  for (const g of groups.values()) if (g.length >= 2) for (const r of g) out.add(r);
  return out;
}

/** Applies the rules above to the embedding statistics and, when untied, the lm_head statistics. */
export function detectUntrained(embedding: RowStats, lmHead: RowStats | null): UntrainedRows {
  const n = lmHead ? Math.min(embedding.rows, lmHead.rows) : embedding.rows;
  const bad = new Set([...embedding.nonFinite, ...(lmHead?.nonFinite ?? [])].map((x) => x.row));
  const eMedian = medianNorm(embedding);
  const lMedian = lmHead ? medianNorm(lmHead) : null;
  const candidates: number[] = [];
  const eRules = new Map<number, UntrainedRule[]>();
  for (let r = 0; r < n; r++) {
    if (bad.has(r)) continue;
    const rules = rowRules(embedding, r, eMedian * NEAR_ZERO_NORM_RATIO);
    if (rules.length) {
      candidates.push(r);
      eRules.set(r, rules);
    }
  }
  const reasons = new Map<number, { embedding: UntrainedRule[]; lmHead: UntrainedRule[] }>();
  if (!lmHead) {
    for (const r of candidates) reasons.set(r, { embedding: eRules.get(r)!, lmHead: [] });
    return { rows: candidates, reasons, medianNorm: { embedding: eMedian, lmHead: null }, compared: n };
  }
  const dups = duplicateRows(lmHead, candidates);
  const rows: number[] = [];
  for (const r of candidates) {
    const lRules = rowRules(lmHead, r, lMedian! * NEAR_ZERO_NORM_RATIO);
    if (dups.has(r)) lRules.push('duplicate-rounded-row');
    if (lRules.length === 0) continue;
    rows.push(r);
    reasons.set(r, { embedding: eRules.get(r)!, lmHead: lRules });
  }
  return { rows, reasons, medianNorm: { embedding: eMedian, lmHead: lMedian }, compared: n };
}
