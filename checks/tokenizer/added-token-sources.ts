/**
 * Added tokens as each file lists them (tokenizer.json `added_tokens`, tokenizer_config.json
 * `added_tokens_decoder`, added_tokens.json), and where the files disagree on a token's id or an id's token.
 */
import { jsonObject } from '../snapshot-files.ts';
import type { CheckMemo, Snapshot } from '../types.ts';

export interface AddedEntry {
  file: string;
  content: string;
  id: number;
  /** `special: true` in tokenizer.json / tokenizer_config.json; undefined where the file does not say. */
  special?: boolean;
}

/** Every added-token entry of every file, in file order (parsed once per run when given the memo). */
export function addedTokenEntries(snap: Snapshot, memo?: CheckMemo): AddedEntry[] {
  return memo ? memo.once(snap, 'added-token-entries', () => entriesOf(snap, memo)) : entriesOf(snap);
}

function entriesOf(snap: Snapshot, memo?: CheckMemo): AddedEntry[] {
  const out: AddedEntry[] = [];
  const push = (file: string, content: unknown, id: unknown, special?: unknown): void => {
    if (typeof content !== 'string' || typeof id !== 'number' || !Number.isInteger(id)) return;
    out.push(typeof special === 'boolean' ? { file, content, id, special } : { file, content, id });
  };
  const tj = jsonObject(snap, 'tokenizer.json', memo);
  if (Array.isArray(tj?.added_tokens)) {
    for (const t of tj.added_tokens as { content?: unknown; id?: unknown; special?: unknown }[])
      push('tokenizer.json', t?.content, t?.id, t?.special);
  }
  const dec = jsonObject(snap, 'tokenizer_config.json')?.added_tokens_decoder;
  if (dec && typeof dec === 'object') {
    for (const [id, t] of Object.entries(dec as Record<string, { content?: unknown; special?: unknown }>))
      push('tokenizer_config.json', t?.content, Number(id), t?.special);
  }
  const at = jsonObject(snap, 'added_tokens.json');
  if (at) for (const [content, id] of Object.entries(at)) push('added_tokens.json', content, id);
  return out;
}

export interface AddedConflict {
  title: string;
  contents: string[];
  ids: number[];
  entries: AddedEntry[];
}

/** Tokens given different ids by different files, and ids given different tokens. At most 20 of each. */
export function addedTokenConflicts(snap: Snapshot, memo?: CheckMemo): AddedConflict[] {
  const entries = addedTokenEntries(snap, memo);
  const byContent = new Map<string, AddedEntry[]>();
  const byId = new Map<number, AddedEntry[]>();
  for (const e of entries) {
    const c = byContent.get(e.content);
    if (c) c.push(e);
    else byContent.set(e.content, [e]);
    const i = byId.get(e.id);
    if (i) i.push(e);
    else byId.set(e.id, [e]);
  }
  const out: AddedConflict[] = [];
  for (const [content, es] of byContent) {
    const ids = [...new Set(es.map((e) => e.id))];
    if (ids.length > 1 && out.length < 20) {
      out.push({
        title: `${content} has id ${es.map((e) => `${e.id} in ${e.file}`).join(' but ')}`,
        contents: [content],
        ids,
        entries: es,
      });
    }
  }
  const reported = new Set(out.flatMap((c) => c.contents));
  let n = 0;
  for (const [id, es] of byId) {
    const contents = [...new Set(es.map((e) => e.content))];
    // A swap (A→5, B→6 in one file; A→6, B→5 in another) is already reported by token.
    if (contents.length > 1 && !contents.every((c) => reported.has(c)) && n++ < 20) {
      out.push({
        title: `id ${id} is ${es.map((e) => `${e.content} in ${e.file}`).join(' but ')}`,
        contents,
        ids: [id],
        entries: es,
      });
    }
  }
  return out;
}
