import type { CheckMemo, Snapshot } from './types.ts';

export type JsonRead =
  | { state: 'absent' }
  | { state: 'omitted'; reason: string }
  | { state: 'malformed'; error: string }
  | { state: 'ok'; value: unknown };

/**
 * Parses a JSON file of the snapshot; with a memo, once per run (pass it for files that are large, such as
 * tokenizer.json). Never throws: a missing, omitted or malformed file is reported as such.
 */
export function readJson(snapshot: Snapshot, path: string, memo?: CheckMemo): JsonRead {
  return memo ? memo.once(snapshot, `json:${path}`, () => parseJson(snapshot, path)) : parseJson(snapshot, path);
}

function parseJson(snapshot: Snapshot, path: string): JsonRead {
  const text = snapshot.texts[path];
  if (text === undefined) {
    const rejected = snapshot.rejected?.[path];
    if (rejected)
      return rejected.kind === 'malformed'
        ? { state: 'malformed', error: rejected.reason }
        : { state: 'omitted', reason: rejected.reason };
    const reason = snapshot.omitted[path];
    return reason !== undefined ? { state: 'omitted', reason } : { state: 'absent' };
  }
  try {
    return { state: 'ok', value: JSON.parse(text) as unknown };
  } catch (e) {
    return { state: 'malformed', error: (e as Error).message };
  }
}

/** The parsed object of a JSON file when it is present, well-formed and an object; otherwise null. */
export function jsonObject(snapshot: Snapshot, path: string, memo?: CheckMemo): Record<string, unknown> | null {
  const r = readJson(snapshot, path, memo);
  if (r.state !== 'ok' || r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) return null;
  return r.value as Record<string, unknown>;
}

/** A list of ids from a config field that may be a number, a list of numbers, or absent. */
export function idList(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

/** A token given as a string or as an AddedToken-like object `{content: ...}` in tokenizer_config.json. */
export function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}
