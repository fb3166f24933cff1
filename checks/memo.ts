import type { CheckMemo, Snapshot } from './types.ts';

/**
 * A fresh per-run memo. Plain maps: it lives as long as whoever built the check context keeps it (one scan, or
 * the check jobs of one release), so nothing derived from a snapshot outlives its run.
 */
export function createCheckMemo(): CheckMemo {
  const bySnapshot = new Map<Snapshot, Map<string, unknown>>();
  return {
    once<T>(snapshot: Snapshot, key: string, compute: () => T): T {
      const values = bySnapshot.get(snapshot) ?? new Map<string, unknown>();
      bySnapshot.set(snapshot, values);
      if (values.has(key)) return values.get(key) as T;
      const value = compute();
      values.set(key, value);
      // A rejected promise is forgotten, so a retry of the check computes it again.
      if (value instanceof Promise) value.catch(() => values.delete(key));
      return value;
    },
  };
}
