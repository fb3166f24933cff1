/**
 * The release's tokenizers, loaded once per run (through the context's memo) and shared by every tokenizer check: the fast tokenizer
 * (tokenizer.json through @huggingface/tokenizers) and the slow one (tokenizer.model through SentencePiece).
 * A 128k-vocabulary tokenizer.json takes about half a second to load, so nothing else may load it again.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { jsonObject, readJson, tokenString } from '../snapshot-files.ts';
import type { CheckMemo, Snapshot } from '../types.ts';
import { parseSpmModel } from './spm-model.ts';
import type { SpmModel } from './spm-model.ts';
import { loadSpmProcessor } from './spm-processor.ts';
import type { SpmProcessor } from './spm-processor.ts';

/** A tokenizer file as the checks see it: loaded, absent, not kept in the snapshot, or unusable. */
export type Loaded<T> =
  | { state: 'ok'; value: T }
  | { state: 'absent' }
  | { state: 'omitted'; reason: string }
  | { state: 'error'; error: string };

export interface SlowTokenizer {
  spm: SpmProcessor;
  model: SpmModel;
}

/** tokenizer_config.json with the token fields reduced to strings, as the tokenizer library expects. */
function libraryConfig(snap: Snapshot): Record<string, unknown> {
  const tc = { ...(jsonObject(snap, 'tokenizer_config.json') ?? {}) };
  for (const k of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) if (k in tc) tc[k] = tokenString(tc[k]);
  delete tc.added_tokens_decoder;
  return tc;
}

/** The fast tokenizer of the release (tokenizer.json), loaded once per run. Never throws. */
export function fastTokenizer(memo: CheckMemo, snap: Snapshot): Loaded<Tokenizer> {
  return memo.once(snap, 'tokenizer:fast', () => loadFast(memo, snap));
}

function loadFast(memo: CheckMemo, snap: Snapshot): Loaded<Tokenizer> {
  const r = readJson(snap, 'tokenizer.json', memo);
  if (r.state === 'absent') return { state: 'absent' };
  if (r.state === 'omitted') return { state: 'omitted', reason: r.reason };
  if (r.state === 'malformed') return { state: 'error', error: `tokenizer.json is not valid JSON: ${r.error}` };
  try {
    const json = r.value as Record<string, unknown>;
    if (!json || typeof json !== 'object' || !Array.isArray(json.added_tokens)) throw new Error('no added_tokens list');
    return { state: 'ok', value: new Tokenizer(json, libraryConfig(snap)) };
  } catch (e) {
    return { state: 'error', error: `tokenizer.json cannot be loaded: ${(e as Error).message}` };
  }
}

/** The parsed tokenizer.model (pieces, normalizer settings), once per run. Never throws. */
export function spmModel(memo: CheckMemo, snap: Snapshot): Loaded<SpmModel> {
  return memo.once(snap, 'tokenizer:spm-model', (): Loaded<SpmModel> => {
    const b64 = snap.binaries['tokenizer.model'];
    if (b64 === undefined) {
      const reason = snap.omitted['tokenizer.model'];
      return reason !== undefined ? { state: 'omitted', reason } : { state: 'absent' };
    }
    try {
      return { state: 'ok', value: parseSpmModel(Buffer.from(b64, 'base64')) };
    } catch (e) {
      return { state: 'error', error: `tokenizer.model is not a SentencePiece model: ${(e as Error).message}` };
    }
  });
}

async function loadSlow(memo: CheckMemo, snap: Snapshot): Promise<Loaded<SlowTokenizer>> {
  const model = spmModel(memo, snap);
  if (model.state !== 'ok') return model;
  try {
    const spm = await loadSpmProcessor(Buffer.from(snap.binaries['tokenizer.model'], 'base64'));
    return { state: 'ok', value: { spm, model: model.value } };
  } catch (e) {
    return { state: 'error', error: `tokenizer.model cannot be loaded: ${(e as Error).message}` };
  }
}

/** The slow tokenizer of the release (tokenizer.model), loaded once per run. Never rejects. */
export function slowTokenizer(memo: CheckMemo, snap: Snapshot): Promise<Loaded<SlowTokenizer>> {
  return memo.once(snap, 'tokenizer:slow', () => loadSlow(memo, snap));
}

/** Why a check cannot use a tokenizer file, for a `skipped` outcome; null when it is loaded. */
export function unusable(file: string, l: Loaded<unknown>): string | null {
  if (l.state === 'absent') return `no ${file}`;
  if (l.state === 'omitted') return `${file} was not kept in the snapshot: ${l.reason}`;
  if (l.state === 'error') return l.error;
  return null;
}

/** Ids of `text` without the tokenizer's own BOS/EOS (add_special_tokens=False). */
export function fastIds(tok: Tokenizer, text: string): number[] {
  return tok.encode(text, { add_special_tokens: false }).ids;
}

/** Token strings of `ids` for evidence, e.g. `["▁Hello", "<0xE2>"]`. */
export function tokenStrings(tok: Tokenizer, ids: readonly number[]): (string | null)[] {
  return ids.map((i) => tok.id_to_token(i) ?? null);
}
