import type { FamilyStats } from '../../checks/types.ts';

/** Counts each config value across other releases of the same model_type (input for the family-consensus check). */
export function familyStats(modelType: string, configs: Record<string, unknown>[]): FamilyStats {
  const values: FamilyStats['values'] = {};
  for (const c of configs) {
    for (const [k, v] of Object.entries(c)) {
      if (v !== null && typeof v === 'object') continue;
      const key = JSON.stringify(v);
      (values[k] ??= {})[key] = (values[k][key] ?? 0) + 1;
    }
  }
  return { modelType, releases: configs.length, values };
}
