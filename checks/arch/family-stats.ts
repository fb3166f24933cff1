import { CONSENSUS_KEYS } from '../data/config-keys.ts';
import type { FamilyStats } from '../types.ts';
import { modelConfigOf, numOf, valueOf, type Json, type ModelConfig } from './config-read.ts';

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The consensus-tracked values of one config, JSON-encoded. An absent key counts as its family's config
 * default when there is one, else as `null`, so that "absent" and "explicitly the default" agree.
 */
export function consensusValues(c: ModelConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of CONSENSUS_KEYS) {
    let v: unknown;
    if (key === 'rope_scaling.rope_type') {
      const rs = c.text.rope_scaling;
      v = isObj(rs) ? (rs.rope_type ?? rs.type ?? null) : null;
    } else {
      v = valueOf(c, key).value;
    }
    if (v !== null && typeof v === 'object') continue;
    out[key] = JSON.stringify(v ?? null);
  }
  return out;
}

/** The size group of a config (`<hidden_size>x<num_hidden_layers>`), or null. */
export function sizeKeyOf(c: ModelConfig): string | null {
  const h = numOf(c, 'hidden_size');
  const l = numOf(c, 'num_hidden_layers');
  return h !== null && l !== null ? `${h}x${l}` : null;
}

function add(values: FamilyStats['values'], vals: Record<string, string>): void {
  for (const [k, v] of Object.entries(vals)) (values[k] ??= {})[v] = (values[k][v] ?? 0) + 1;
}

/**
 * Family statistics for the family-consensus check: how often each tracked config value occurs among other
 * releases of `modelType`, family-wide and per model size. Pure; the worker passes the configs in.
 */
export function familyStatsFrom(modelType: string, configs: Record<string, unknown>[]): FamilyStats {
  const values: FamilyStats['values'] = {};
  const sizes: NonNullable<FamilyStats['sizes']> = {};
  let releases = 0;
  for (const raw of configs) {
    if (!isObj(raw)) continue;
    releases++;
    const c = modelConfigOf(raw);
    const vals = consensusValues(c);
    add(values, vals);
    const size = sizeKeyOf(c);
    if (size) {
      const g = (sizes[size] ??= { releases: 0, values: {} });
      g.releases++;
      add(g.values, vals);
    }
  }
  return { modelType, releases, values, sizes };
}
