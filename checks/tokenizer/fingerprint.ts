/**
 * The tokenizer fingerprint stored with each release: llama.cpp's pre-tokenizer hash (`chkhsh`: sha256 of the
 * Python repr of the ids of CHK_TXT encoded with special tokens, convert_hf_to_gguf_update.py), the ids
 * themselves for diffing, and the parts of tokenizer.json that decide how text is split.
 */
import { createHash } from 'node:crypto';
import { jsonObject } from '../snapshot-files.ts';
import type { CheckMemo, Snapshot } from '../types.ts';
import { LLAMA_CPP_CHK_TXT } from './probe-corpus.ts';
import { fastTokenizer } from './tokenizers.ts';

export interface TokenizerFingerprint {
  /** llama.cpp-compatible chkhsh (hex sha256). */
  hash: string;
  probeIds: number[];
  preTokenizer: unknown;
  normalizer: unknown;
  /** Special added tokens, content → id. */
  specialTokens: Record<string, number>;
}

/** Python's `str(list_of_ints)`, which llama.cpp hashes. */
export function pythonListRepr(ids: readonly number[]): string {
  return `[${ids.join(', ')}]`;
}

/**
 * The fingerprint of the release's tokenizer.json, or null when it has none that loads (the fingerprint needs
 * the fast tokenizer). Computed once per run; never throws.
 */
export function tokenizerFingerprint(memo: CheckMemo, snapshot: Snapshot): TokenizerFingerprint | null {
  return memo.once(snapshot, 'tokenizer:fingerprint', () => computeFingerprint(memo, snapshot));
}

function computeFingerprint(memo: CheckMemo, snapshot: Snapshot): TokenizerFingerprint | null {
  const fast = fastTokenizer(memo, snapshot);
  if (fast.state !== 'ok') return null;
  const probeIds = fast.value.encode(LLAMA_CPP_CHK_TXT, { add_special_tokens: true }).ids;
  const tj = jsonObject(snapshot, 'tokenizer.json', memo) ?? {};
  const specialTokens: Record<string, number> = {};
  for (const t of (Array.isArray(tj.added_tokens) ? tj.added_tokens : []) as {
    content?: unknown;
    id?: unknown;
    special?: unknown;
  }[]) {
    if (t?.special === true && typeof t.content === 'string' && typeof t.id === 'number')
      specialTokens[t.content] = t.id;
  }
  return {
    hash: createHash('sha256').update(pythonListRepr(probeIds)).digest('hex'),
    probeIds,
    preTokenizer: tj.pre_tokenizer ?? null,
    normalizer: tj.normalizer ?? null,
    specialTokens,
  };
}
