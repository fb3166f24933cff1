/**
 * TOKENIZER_FAST_SLOW_MISMATCH: when a release ships both tokenizer.json (fast) and tokenizer.model (slow,
 * SentencePiece), they must give the same ids for the probe corpus. Mistral/Mixtral shipped a tokenizer.json whose
 * Metaspace handling disagreed with the SentencePiece model around special tokens and spaces, so the same prompt
 * meant different ids in different runtimes (tokenizers #1448, #1544; transformers #29452); Phi-3's files disagree
 * on `<|user|>\n I am good <|end|>` (transformers #35973).
 */
import type { Tokenizer } from '@huggingface/tokenizers';
import type { Check, CheckMemo, FindingInput, Snapshot } from '../types.ts';
import { probeCorpus } from './probe-corpus.ts';
import { slowAddedTokens, slowIds, slowLegacy } from './slow-encode.ts';
import { tokenVariables } from './chat-scenarios.ts';
import { addedTokens } from './special-tokens.ts';
import type { SlowTokenizer } from './tokenizers.ts';
import { fastIds, fastTokenizer, slowTokenizer, tokenStrings, unusable } from './tokenizers.ts';

/** The special tokens to glue into probes: bos/eos/unk first, then other special added tokens by id. */
export function probeSpecials(snap: Snapshot, memo?: CheckMemo): string[] {
  const vars = tokenVariables(snap);
  const added = addedTokens(snap, memo);
  const others = [...added.special]
    .sort((a, b) => a - b)
    .map((id) => added.byId.get(id))
    .filter((t): t is string => !!t);
  return [...new Set([vars.bos_token, vars.eos_token, vars.unk_token, ...others].filter((t) => t.length > 0))];
}

function pieces(memo: CheckMemo, slow: SlowTokenizer, snap: Snapshot, ids: number[]): (string | null)[] {
  const added = addedTokens(snap, memo);
  return ids.map((i) => slow.model.pieces[i]?.piece ?? added.byId.get(i) ?? null);
}

interface Diff {
  text: string;
  fast: { ids: number[]; tokens: (string | null)[] };
  slow: { ids: number[]; pieces: (string | null)[] };
  firstDifference: number;
}

function compare(memo: CheckMemo, snap: Snapshot, tok: Tokenizer, slow: SlowTokenizer, corpus: string[]): Diff[] {
  const added = slowAddedTokens(snap, memo);
  const legacy = slowLegacy(snap);
  const diffs: Diff[] = [];
  for (const text of corpus) {
    const f = fastIds(tok, text);
    const s = slowIds(slow, added, legacy, text);
    if (f.length === s.length && f.every((x, i) => x === s[i])) continue;
    let first = 0;
    while (first < f.length && f[first] === s[first]) first++;
    diffs.push({
      text,
      fast: { ids: f, tokens: tokenStrings(tok, f) },
      slow: { ids: s, pieces: pieces(memo, slow, snap, s) },
      firstDifference: first,
    });
  }
  return diffs;
}

/**
 * Decides whether tokenizer.json and tokenizer.model give the same ids for the probe corpus (with the release's
 * special tokens glued in). Emits TOKENIZER_FAST_SLOW_MISMATCH, or FILE_MALFORMED when tokenizer.model does not load.
 */
export const fastVsSlow: Check = {
  id: 'tokenizer-fast-slow',
  title: 'tokenizer.json and tokenizer.model give the same ids',
  queue: 'checks',
  codes: ['TOKENIZER_FAST_SLOW_MISMATCH', 'FILE_MALFORMED'],
  async run({ release: snap, memo }) {
    const fast = fastTokenizer(memo, snap);
    if (fast.state !== 'ok')
      return { status: 'skipped', reason: unusable('tokenizer.json', fast) ?? 'no tokenizer.json' };
    const slow = await slowTokenizer(memo, snap);
    if (slow.state === 'error') {
      return {
        status: 'findings',
        findings: [
          {
            code: 'FILE_MALFORMED',
            severity: 'critical',
            title: 'tokenizer.model cannot be loaded by SentencePiece',
            detail: `${slow.error}. Slow tokenizers (LlamaTokenizer, sentencepiece users, GGUF converters) fail on this release.`,
            evidence: { error: slow.error },
            files: ['tokenizer.model'],
          },
        ],
      };
    }
    if (slow.state !== 'ok')
      return { status: 'skipped', reason: unusable('tokenizer.model', slow) ?? 'no tokenizer.model' };
    const corpus = probeCorpus(probeSpecials(snap, memo));
    const diffs = compare(memo, snap, fast.value, slow.value, corpus);
    if (diffs.length === 0) return { status: 'passed' };
    // Lead with differences on visible text: a string of spaces is a poor headline.
    diffs.sort((a, b) => Number(!/\S/.test(a.text)) - Number(!/\S/.test(b.text)));
    const d = diffs[0];
    const finding: FindingInput = {
      code: 'TOKENIZER_FAST_SLOW_MISMATCH',
      severity: 'critical',
      title: `tokenizer.json and tokenizer.model disagree on ${diffs.length} of ${corpus.length} probe strings, e.g. ${JSON.stringify(d.text)}`,
      detail: `The fast tokenizer gives [${d.fast.ids.join(', ')}] (${JSON.stringify(d.fast.tokens)}) and SentencePiece gives [${d.slow.ids.join(', ')}] (${JSON.stringify(d.slow.pieces)}). Runtimes that load different files feed the model different ids for the same text. Regenerate tokenizer.json from tokenizer.model (transformers: from_slow=True) with the legacy setting the model was trained with.`,
      evidence: {
        legacy: slowLegacy(snap),
        mismatches: diffs.length,
        probes: corpus.length,
        examples: diffs.slice(0, 8),
      },
      files: ['tokenizer.json', 'tokenizer.model', 'tokenizer_config.json'],
    };
    return { status: 'findings', findings: [finding] };
  },
};
