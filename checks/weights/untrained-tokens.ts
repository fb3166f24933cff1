/**
 * UNTRAINED_SPECIAL_TOKEN / UNTRAINED_TOKENS / NONFINITE_WEIGHTS: reads the token embedding and (untied) lm_head
 * row statistics from the tensor provider and finds rows that were never trained (see untrained-rows.ts for the
 * rules and their sources) or hold NaN/Inf. Untrained rows of special tokens made Llama 3 fine-tunes produce NaNs
 * and models that never emit their own turn terminator (unsloth-zoo `fix_untrained_tokens`).
 */
import type { Check, CheckOutcome, RowStats, Snapshot, TensorInfo, TensorStatsProvider } from '../types.ts';
import { normProfile } from './norm-profile.ts';
import { isMalformedTensorError, isUnsupportedTensorError } from './tensor-errors.ts';
import { tokenMatrices } from './tensor-names.ts';
import { usedTokenIds, vocabularyView } from './token-usage.ts';
import { nonFiniteFinding, untrainedFindings } from './untrained-findings.ts';
import { NEAR_ZERO_NORM_RATIO, detectUntrained } from './untrained-rows.ts';

/** Why no embedding was found; throws (check error) when a header could not be read at all. */
function missingEmbeddingReason(snap: Snapshot): string {
  const files = snap.safetensors?.files ?? [];
  const io = files.filter((f) => f.error && f.errorKind === 'io');
  if (io.length)
    throw new Error(`cannot read safetensors headers: ${io.map((f) => `${f.path}: ${f.error}`).join('; ')}`);
  const broken = files.filter((f) => f.error).map((f) => f.path);
  if (broken.length)
    return `no token embedding tensor found; unreadable safetensors headers (reported as FILE_MALFORMED): ${broken.join(', ')}`;
  return 'no token embedding tensor among the known names (checks/weights/tensor-names.ts)';
}

type Read = { stats: RowStats[] } | { outcome: CheckOutcome };

/** Reads the statistics of each tensor; a lying header becomes FILE_MALFORMED, an unsupported tensor a skip. */
async function readStats(provider: TensorStatsProvider, tensors: TensorInfo[], signal?: AbortSignal): Promise<Read> {
  const stats: RowStats[] = [];
  for (const t of tensors) {
    try {
      stats.push(await provider.rowStats(t, signal));
    } catch (e) {
      if (isUnsupportedTensorError(e)) return { outcome: { status: 'skipped', reason: e.message } };
      if (!isMalformedTensorError(e)) throw e;
      return {
        outcome: {
          status: 'findings',
          findings: [
            {
              code: 'FILE_MALFORMED',
              severity: 'critical',
              title: `${t.file}: tensor ${t.name} cannot be read as its header describes`,
              detail: e.message,
              evidence: { file: t.file, tensor: t.name, error: e.message },
              files: [t.file],
            },
          ],
        },
      };
    }
  }
  return { stats };
}

/**
 * Decides, from the embedding and lm_head row statistics read through the tensor provider, which token rows were
 * never trained or hold NaN/Inf, and whether the template or bos/eos/pad use them. Emits UNTRAINED_SPECIAL_TOKEN,
 * UNTRAINED_TOKENS, NONFINITE_WEIGHTS, and FILE_MALFORMED for a header that lies.
 */
export const untrainedTokens: Check = {
  id: 'untrained-tokens',
  title: 'Token embedding and lm_head rows are trained and finite',
  queue: 'tensor',
  codes: ['UNTRAINED_SPECIAL_TOKEN', 'UNTRAINED_TOKENS', 'NONFINITE_WEIGHTS', 'FILE_MALFORMED'],
  async run({ release: snap, tensors: provider, signal, memo }) {
    if (!provider) return { status: 'skipped', reason: 'weights are not read here' };
    if (!snap.safetensors) return { status: 'skipped', reason: 'no safetensors weights' };
    const m = tokenMatrices(snap);
    if (!m.embedding) return { status: 'skipped', reason: missingEmbeddingReason(snap) };
    const read = await readStats(provider, m.lmHead ? [m.embedding, m.lmHead] : [m.embedding], signal);
    if ('outcome' in read) return read.outcome;
    const [embedding, lmHead = null] = read.stats;
    const untrained = detectUntrained(embedding, lmHead);
    const listed = [
      ...untrained.rows,
      ...embedding.nonFinite.map((n) => n.row),
      ...(lmHead?.nonFinite ?? []).map((n) => n.row),
    ];
    const vocab = vocabularyView(snap, listed, memo);
    const profiles = [embedding, ...(lmHead ? [lmHead] : [])].map((s, i) => {
      const median = i === 0 ? untrained.medianNorm.embedding : untrained.medianNorm.lmHead!;
      return normProfile(s, median, median * NEAR_ZERO_NORM_RATIO);
    });
    const findings = [
      ...[embedding, lmHead].flatMap((s) => (s ? [nonFiniteFinding(s, vocab)].filter((f) => f !== null) : [])),
      ...untrainedFindings({ embedding, lmHead, vocab, used: usedTokenIds(snap, memo), untrained, profiles }),
    ];
    return findings.length ? { status: 'findings', findings } : { status: 'passed' };
  },
};
