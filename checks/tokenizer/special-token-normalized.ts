/**
 * SPECIAL_TOKEN_NORMALIZED: a special token marked `normalized: true` in tokenizer.json is matched against the
 * normalized text, so a normalizer that rewrites it (Metaspace's "▁" prefix, lowercasing, NFKC) stops it from
 * matching where it is glued to text: `x</s>y` no longer yields the </s> id. Llama-2 conversions shipped their
 * special tokens with normalized: true (transformers #24565 discussion, tokenizers #1357).
 */
import type { Check, FindingInput } from '../types.ts';
import { jsonObject } from '../snapshot-files.ts';
import { fastIds, fastTokenizer, tokenStrings, unusable } from './tokenizers.ts';

interface AddedJson {
  id?: unknown;
  content?: unknown;
  special?: unknown;
  normalized?: unknown;
}

const contexts = (c: string): string[] => [c, `x${c}y`, `Hello ${c} world`, `${c}Hello`, `Hello${c}`];

/**
 * Decides whether a special token of tokenizer.json marked `normalized: true` stops matching once the normalizer
 * runs (probed by encoding it glued to text). Emits SPECIAL_TOKEN_NORMALIZED.
 */
export const specialTokenNormalized: Check = {
  id: 'special-token-normalized',
  title: 'Special tokens are matched before normalization',
  queue: 'checks',
  codes: ['SPECIAL_TOKEN_NORMALIZED'],
  run({ release: snap, memo }) {
    const fast = fastTokenizer(memo, snap);
    if (fast.state !== 'ok')
      return { status: 'skipped', reason: unusable('tokenizer.json', fast) ?? 'no tokenizer.json' };
    const tok = fast.value;
    const list = (jsonObject(snap, 'tokenizer.json', memo)?.added_tokens ?? []) as AddedJson[];
    const normalizedSpecials = list.filter(
      (t) => t.special === true && t.normalized === true && typeof t.content === 'string' && typeof t.id === 'number',
    );
    if (normalizedSpecials.length === 0) return { status: 'passed' };
    const findings: FindingInput[] = [];
    for (const t of normalizedSpecials) {
      const content = t.content as string;
      const id = t.id as number;
      const failing = contexts(content)
        .map((text) => ({ text, ids: fastIds(tok, text) }))
        .filter((x) => !x.ids.includes(id))
        .map((x) => ({ ...x, tokens: tokenStrings(tok, x.ids) }));
      if (failing.length === 0) continue;
      const normalizedForm = tok.normalizer ? tok.normalizer.normalize(content) : content;
      findings.push({
        code: 'SPECIAL_TOKEN_NORMALIZED',
        severity: 'warning',
        title: `Special token ${content} (id ${id}) is normalized before matching and is not recognised in ${JSON.stringify(failing[0].text)}`,
        detail: `tokenizer.json marks ${content} normalized: true, so it is matched in the normalizer's output${normalizedForm !== content ? `, where it reads ${JSON.stringify(normalizedForm)}` : ''}. Glued to text it is split into ordinary pieces. Set "normalized": false for special tokens.`,
        evidence: { token: content, id, normalizedForm, failing },
        files: ['tokenizer.json'],
      });
    }
    return { status: 'findings', findings };
  },
};
