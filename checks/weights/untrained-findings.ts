/**
 * Turns untrained rows and non-finite rows into findings, with severity from how the release uses each token.
 */
import type { FindingInput, RowStats } from '../types.ts';
import type { NormProfile } from './norm-profile.ts';
import { idRanges, rowValues } from './norm-profile.ts';
import type { VocabularyView } from './token-usage.ts';
import type { UntrainedRows } from './untrained-rows.ts';

/** UNTRAINED_TOKENS is a warning rather than info when more than this share of the vocabulary is untrained. */
export const MANY_UNTRAINED_FRACTION = 0.01;
/** Rows listed one by one (with values) per finding; all ids are always given as ranges. */
export const MAX_DETAILED_ROWS = 256;

export interface WeightsView {
  embedding: RowStats;
  lmHead: RowStats | null;
  vocab: VocabularyView;
  used: Map<number, string[]>;
  untrained: UntrainedRows;
  profiles: NormProfile[];
}

function files(v: WeightsView): string[] {
  return [...new Set([v.embedding.file, ...(v.lmHead ? [v.lmHead.file] : [])])];
}

function detailed(v: WeightsView, ids: number[]): Record<string, unknown>[] {
  return ids.slice(0, MAX_DETAILED_ROWS).map((id) => ({
    id,
    token: v.vocab.token(id),
    ...(v.used.has(id) ? { uses: v.used.get(id) } : {}),
    rules: v.untrained.reasons.get(id),
    embedding: rowValues(v.embedding, id),
    lmHead: v.lmHead ? rowValues(v.lmHead, id) : null,
  }));
}

function evidence(v: WeightsView, ids: number[]): Record<string, unknown> {
  return {
    count: ids.length,
    ids: idRanges(ids),
    rows: detailed(v, ids),
    truncated: Math.max(0, ids.length - MAX_DETAILED_ROWS),
    tensors: { embedding: v.embedding.tensor, lmHead: v.lmHead?.tensor ?? null, tied: v.lmHead === null },
    vocabularySize: v.vocab.size,
    medianNorm: v.untrained.medianNorm,
    profiles: v.profiles,
    untrainedIds: idRanges(v.untrained.rows),
  };
}

const listed = (v: WeightsView, ids: number[], n = 8): string =>
  ids
    .slice(0, n)
    .map((id) => `${id} ${JSON.stringify(v.vocab.token(id) ?? '?')}`)
    .join(', ') + (ids.length > n ? `, … (${ids.length} in all)` : '');

/** Splits untrained ids by use: used by the release, beyond the tokenizer's vocabulary (padding), or other. */
export function splitByUse(v: WeightsView): { special: number[]; padding: number[]; other: number[] } {
  const special: number[] = [];
  const padding: number[] = [];
  const other: number[] = [];
  for (const id of v.untrained.rows) {
    if (v.used.has(id)) special.push(id);
    else if (v.vocab.size !== null && id >= v.vocab.size) padding.push(id);
    else other.push(id);
  }
  return { special, padding, other };
}

/** The findings for untrained rows (empty when there are none). */
export function untrainedFindings(v: WeightsView): FindingInput[] {
  const { special, padding, other } = splitByUse(v);
  const out: FindingInput[] = [];
  const where = v.lmHead ? 'embedding and lm_head rows' : 'embedding rows (lm_head is tied)';
  if (special.length) {
    out.push({
      code: 'UNTRAINED_SPECIAL_TOKEN',
      severity: 'critical',
      title: `${special.length} token${special.length > 1 ? 's' : ''} the release uses ${special.length > 1 ? 'have' : 'has'} untrained ${where}`,
      detail: `Untrained rows for tokens that bos/eos/pad or the chat template use: ${listed(v, special)}. Fine-tuning with these rows frozen (LoRA without embed_tokens/lm_head) gives NaNs or a model that never emits its own turn terminator; set them to the mean of trained rows or train them.`,
      evidence: evidence(v, special),
      files: files(v),
    });
  }
  if (other.length) {
    const base = v.vocab.size ?? v.untrained.compared;
    out.push({
      code: 'UNTRAINED_TOKENS',
      severity: other.length > MANY_UNTRAINED_FRACTION * base ? 'warning' : 'info',
      title: `${other.length} token${other.length > 1 ? 's' : ''} of the vocabulary ${other.length > 1 ? 'have' : 'has'} untrained ${where}`,
      detail: `Untrained rows (typically reserved tokens): ${listed(v, other)}. Harmless until a fine-tune or a prompt uses them.`,
      evidence: evidence(v, other),
      files: files(v),
    });
  }
  if (padding.length) {
    out.push({
      code: 'UNTRAINED_TOKENS',
      severity: 'info',
      title: `${padding.length} padding row${padding.length > 1 ? 's' : ''} beyond the tokenizer's ${v.vocab.size} ids ${padding.length > 1 ? 'are' : 'is'} untrained`,
      detail: `Rows ${idRanges(padding)
        .map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`))
        .join(
          ', ',
        )} pad the matrix past the last id the tokenizer produces; expected, and never used unless a config points at them.`,
      evidence: { ...evidence(v, padding), scope: 'padding' },
      files: files(v),
    });
  }
  return out;
}

/** NONFINITE_WEIGHTS for a matrix with NaN or ±Inf values. */
export function nonFiniteFinding(s: RowStats, vocab: VocabularyView): FindingInput | null {
  if (s.nonFinite.length === 0) return null;
  const nan = s.nonFinite.reduce((a, n) => a + n.nan, 0);
  const inf = s.nonFinite.reduce((a, n) => a + n.inf, 0);
  const rows = s.nonFinite.map((n) => n.row);
  return {
    code: 'NONFINITE_WEIGHTS',
    severity: 'critical',
    title: `${s.tensor} has ${nan} NaN and ${inf} infinite values in ${rows.length} row${rows.length > 1 ? 's' : ''}`,
    detail: `Any prompt containing these tokens produces NaN/Inf activations. Rows: ${rows.slice(0, 8).join(', ')}${rows.length > 8 ? ', …' : ''}.`,
    evidence: {
      tensor: s.tensor,
      file: s.file,
      nan,
      inf,
      ids: idRanges(rows),
      rows: s.nonFinite
        .slice(0, MAX_DETAILED_ROWS)
        .map((n) => ({ id: n.row, token: vocab.token(n.row), nan: n.nan, inf: n.inf })),
    },
    files: [s.file],
  };
}
