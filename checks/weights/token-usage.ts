/**
 * What the tokenizer says about token ids: how many ids it can produce (rows beyond are padding), each id's
 * string, and which ids a release actually uses (bos/eos/pad, and added tokens its chat template emits).
 */
import { jsonObject } from '../snapshot-files.ts';
import { addedTokens, chatTemplate, declarations } from '../tokenizer/special-tokens.ts';
import type { CheckMemo, Snapshot } from '../types.ts';

export interface VocabularyView {
  /** Ids the tokenizer can produce: max(model vocabulary id, added token id) + 1; null when unknown. */
  size: number | null;
  /** Token string of an id given to vocabularyView (added tokens, then the model vocabulary); null when unknown. */
  token(id: number): string | null;
  /** Ids of added tokens (special or not). */
  added: Set<number>;
}

/**
 * The model vocabulary of tokenizer.json in one pass without copying it (it has ~100k-250k entries): its largest
 * id, and the strings of the `wanted` ids.
 */
function scanModelVocab(
  snap: Snapshot,
  wanted: Set<number>,
  memo?: CheckMemo,
): { maxId: number; strings: Map<number, string> } | null {
  const vocab = (jsonObject(snap, 'tokenizer.json', memo)?.model as { vocab?: unknown } | undefined)?.vocab;
  const strings = new Map<number, string>();
  if (Array.isArray(vocab)) {
    // Unigram: [[piece, score], ...]; the id is the index.
    for (const id of wanted) if (Array.isArray(vocab[id])) strings.set(id, String((vocab[id] as unknown[])[0]));
    return { maxId: vocab.length - 1, strings };
  }
  if (!vocab || typeof vocab !== 'object') return null;
  let maxId = -1;
  const byToken = vocab as Record<string, unknown>;
  // for…in, not Object.entries: no [key, value] array per entry (about 4× faster on a 128k vocabulary).
  for (const token in byToken) {
    const id = byToken[token];
    if (typeof id !== 'number') continue;
    if (id > maxId) maxId = id;
    if (wanted.has(id)) strings.set(id, token);
  }
  return { maxId, strings };
}

/** The vocabulary view of a release (from tokenizer.json and the added-token declarations), with the strings of `wanted` ids. */
export function vocabularyView(snap: Snapshot, wanted: Iterable<number> = [], memo?: CheckMemo): VocabularyView {
  const added = addedTokens(snap, memo);
  const model = scanModelVocab(snap, new Set(wanted), memo);
  let size: number | null = null;
  if (model) {
    let maxAdded = -1;
    for (const id of added.byId.keys()) if (id > maxAdded) maxAdded = id;
    size = Math.max(model.maxId, maxAdded) + 1;
  }
  return {
    size,
    added: new Set(added.byId.keys()),
    token: (id: number) => added.byId.get(id) ?? model?.strings.get(id) ?? null,
  };
}

/**
 * Ids the release uses at inference time, with why: bos/eos/pad as declared in any file, and every added token
 * whose text appears in the chat template (the template emits it verbatim; Unsloth's `if_bad_first` test).
 */
export function usedTokenIds(snap: Snapshot, memo?: CheckMemo): Map<number, string[]> {
  const used = new Map<number, string[]>();
  const note = (id: number, why: string): void => {
    const list = used.get(id) ?? [];
    if (!list.includes(why)) list.push(why);
    used.set(id, list);
  };
  for (const role of ['bos', 'eos', 'pad'] as const) {
    for (const d of declarations(snap, role, memo)) for (const id of d.ids) note(id, `${role} (${d.file} ${d.field})`);
  }
  const tpl = chatTemplate(snap);
  if (tpl) {
    for (const [id, content] of addedTokens(snap, memo).byId) {
      if (content.length > 0 && tpl.template.includes(content)) note(id, `chat template (${tpl.file})`);
    }
  }
  return used;
}
