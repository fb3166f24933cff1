/**
 * Encodes text the way transformers' slow SentencePiece tokenizers (LlamaTokenizer and its kin) do: split the text
 * on the added tokens, map those to their ids, and run SentencePiece on each piece of plain text between them.
 * With `legacy: true` (the default when tokenizer_config.json does not say) each piece gets SentencePiece's dummy
 * "▁" prefix; with `legacy: false` only the start of the text does (transformers PR #24565, tokenization_llama.py).
 */
import { jsonObject } from '../snapshot-files.ts';
import type { CheckMemo, Snapshot } from '../types.ts';
import type { SlowTokenizer } from './tokenizers.ts';

export interface SplitToken {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
}

/** The added tokens the slow tokenizer splits on: tokenizer_config.json added_tokens_decoder, else tokenizer.json added_tokens. */
export function slowAddedTokens(snap: Snapshot, memo?: CheckMemo): SplitToken[] {
  const out = new Map<string, SplitToken>();
  const add = (content: unknown, id: unknown, t: { lstrip?: unknown; rstrip?: unknown }): void => {
    if (typeof content !== 'string' || content === '' || typeof id !== 'number' || out.has(content)) return;
    out.set(content, { content, id, lstrip: t.lstrip === true, rstrip: t.rstrip === true });
  };
  const dec = jsonObject(snap, 'tokenizer_config.json')?.added_tokens_decoder;
  if (dec && typeof dec === 'object') {
    for (const [id, t] of Object.entries(
      dec as Record<string, { content?: unknown; lstrip?: unknown; rstrip?: unknown }>,
    ))
      if (t && typeof t === 'object') add(t.content, Number(id), t);
  }
  const tj = jsonObject(snap, 'tokenizer.json', memo);
  if (Array.isArray(tj?.added_tokens)) {
    for (const t of tj.added_tokens as { content?: unknown; id?: unknown; lstrip?: unknown; rstrip?: unknown }[])
      if (t && typeof t === 'object') add(t.content, t.id, t);
  }
  return [...out.values()].sort((a, b) => b.content.length - a.content.length);
}

/** The slow tokenizer's `legacy` setting: false only when tokenizer_config.json says so. */
export function slowLegacy(snap: Snapshot): boolean {
  return jsonObject(snap, 'tokenizer_config.json')?.legacy !== false;
}

type Part = { text: string } | { token: SplitToken };

/** Splits text on added tokens (longest match first), applying their lstrip/rstrip. */
function splitOnAdded(text: string, added: readonly SplitToken[]): Part[] {
  const parts: Part[] = [];
  let plain = '';
  for (let i = 0; i < text.length;) {
    const hit = added.find((t) => text.startsWith(t.content, i));
    if (!hit) {
      plain += text[i++];
      continue;
    }
    if (hit.lstrip) plain = plain.trimEnd();
    if (plain) parts.push({ text: plain });
    plain = '';
    parts.push({ token: hit });
    i += hit.content.length;
    if (hit.rstrip) while (i < text.length && /\s/.test(text[i])) i++;
  }
  if (plain) parts.push({ text: plain });
  return parts;
}

/** SentencePiece ids of `text` without the dummy prefix: the `unk_token + text` trick of LlamaTokenizer._tokenize. */
function withoutDummyPrefix(slow: SlowTokenizer, text: string): number[] {
  const unk = slow.model.unkPiece ?? '<unk>';
  const skip = slow.spm.encodeIds(unk).length;
  return slow.spm.encodeIds(unk + text).slice(skip);
}

/** Ids the slow tokenizer gives for `text` with add_special_tokens=False. */
export function slowIds(slow: SlowTokenizer, added: readonly SplitToken[], legacy: boolean, text: string): number[] {
  const ids: number[] = [];
  splitOnAdded(text, added).forEach((p, i) => {
    if ('token' in p) ids.push(p.token.id);
    else if (legacy || !slow.model.addDummyPrefix || i === 0) ids.push(...slow.spm.encodeIds(p.text));
    else ids.push(...withoutDummyPrefix(slow, p.text));
  });
  return ids;
}
