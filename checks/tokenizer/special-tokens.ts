import { idList, jsonObject, tokenString } from '../snapshot-files.ts';
import { addedTokenEntries } from './added-token-sources.ts';
import type { CheckMemo, Snapshot } from '../types.ts';

export type SpecialRole = 'bos' | 'eos' | 'pad' | 'unk';

/** The tokenizer's vocabulary of added/special tokens, as declared by tokenizer.json and tokenizer_config.json. */
export interface AddedTokens {
  /** token content -> id */
  byContent: Map<string, number>;
  /** id -> content */
  byId: Map<number, string>;
  /** ids of tokens marked `special: true` */
  special: Set<number>;
}

/** Added tokens from tokenizer.json `added_tokens`, tokenizer_config.json `added_tokens_decoder` and added_tokens.json (first file wins). */
export function addedTokens(snap: Snapshot, memo?: CheckMemo): AddedTokens {
  const byContent = new Map<string, number>();
  const byId = new Map<number, string>();
  const special = new Set<number>();
  for (const e of addedTokenEntries(snap, memo)) {
    if (!byContent.has(e.content)) byContent.set(e.content, e.id);
    if (!byId.has(e.id)) byId.set(e.id, e.content);
    if (e.special === true) special.add(e.id);
  }
  return { byContent, byId, special };
}

/** Looks a token string up in the added tokens, then in the model vocabulary of tokenizer.json. */
export function tokenId(snap: Snapshot, added: AddedTokens, content: string, memo?: CheckMemo): number | null {
  const a = added.byContent.get(content);
  if (a !== undefined) return a;
  const tj = jsonObject(snap, 'tokenizer.json', memo);
  const vocab = (tj?.model as { vocab?: unknown } | undefined)?.vocab;
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) {
    const id = (vocab as Record<string, unknown>)[content];
    if (typeof id === 'number') return id;
  }
  if (Array.isArray(vocab)) {
    // Unigram vocab: [[piece, score], ...]; the id is the index.
    const i = (vocab as unknown[]).findIndex((e) => Array.isArray(e) && e[0] === content);
    if (i >= 0) return i;
  }
  return null;
}

/** A special token as one file declares it. */
export interface Declared {
  file: string;
  field: string;
  token: string | null;
  ids: number[];
}

/**
 * Every declaration of a special-token role across the release's files:
 * token strings in tokenizer_config.json / special_tokens_map.json and ids in config.json / generation_config.json.
 */
export function declarations(snap: Snapshot, role: SpecialRole, memo?: CheckMemo): Declared[] {
  const out: Declared[] = [];
  const added = addedTokens(snap, memo);
  for (const file of ['tokenizer_config.json', 'special_tokens_map.json']) {
    const o = jsonObject(snap, file);
    if (!o || !(`${role}_token` in o)) continue;
    const token = tokenString(o[`${role}_token`]);
    const id = token === null ? null : tokenId(snap, added, token, memo);
    out.push({ file, field: `${role}_token`, token, ids: id === null ? [] : [id] });
  }
  for (const file of ['config.json', 'generation_config.json']) {
    const o = jsonObject(snap, file);
    if (!o || !(`${role}_token_id` in o) || o[`${role}_token_id`] === null) continue;
    const ids = idList(o[`${role}_token_id`]);
    out.push({
      file,
      field: `${role}_token_id`,
      token: ids.length === 1 ? (added.byId.get(ids[0]) ?? null) : null,
      ids,
    });
  }
  return out;
}

/** The chat template of the release: tokenizer_config.json, chat_template.jinja or chat_template.json. */
export function chatTemplate(snap: Snapshot): { template: string; file: string } | null {
  const jinja = snap.texts['chat_template.jinja'];
  if (typeof jinja === 'string') return { template: jinja, file: 'chat_template.jinja' };
  const ct = jsonObject(snap, 'chat_template.json');
  if (ct && typeof ct.chat_template === 'string') return { template: ct.chat_template, file: 'chat_template.json' };
  const tc = jsonObject(snap, 'tokenizer_config.json');
  const t = tc?.chat_template;
  if (typeof t === 'string') return { template: t, file: 'tokenizer_config.json' };
  if (Array.isArray(t)) {
    // A list of named templates; `default` is the one applied to plain chats.
    const named = t as { name?: unknown; template?: unknown }[];
    const d = named.find((x) => x?.name === 'default') ?? named[0];
    if (typeof d?.template === 'string') return { template: d.template, file: 'tokenizer_config.json' };
  }
  return null;
}
