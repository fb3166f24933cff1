import type { Snapshot } from './types.ts';

export type JsonRead =
  | { state: 'absent' }
  | { state: 'omitted'; reason: string }
  | { state: 'malformed'; error: string }
  | { state: 'ok'; value: unknown };

const cache = new WeakMap<Snapshot, Map<string, JsonRead>>();

/**
 * Parses a JSON file of the snapshot once (memoised per snapshot object).
 * Never throws: a missing, omitted or malformed file is reported as such.
 */
export function readJson(snapshot: Snapshot, path: string): JsonRead {
  let perSnap = cache.get(snapshot);
  if (!perSnap) {
    perSnap = new Map();
    cache.set(snapshot, perSnap);
  }
  const hit = perSnap.get(path);
  if (hit) return hit;
  let result: JsonRead;
  const text = snapshot.texts[path];
  if (text === undefined) {
    const reason = snapshot.omitted[path];
    result = reason !== undefined ? { state: 'omitted', reason } : { state: 'absent' };
  } else {
    try {
      result = { state: 'ok', value: JSON.parse(text) as unknown };
    } catch (e) {
      result = { state: 'malformed', error: (e as Error).message };
    }
  }
  perSnap.set(path, result);
  return result;
}

/** The parsed object of a JSON file when it is present, well-formed and an object; otherwise null. */
export function jsonObject(snapshot: Snapshot, path: string): Record<string, unknown> | null {
  const r = readJson(snapshot, path);
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
