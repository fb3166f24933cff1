import type { Check, FamilyStats, FindingCode, FindingInput } from '../types.ts';
import { readModelConfig } from './config-read.ts';
import { tableFinding, type EvidenceRow } from './evidence.ts';
import { consensusValues, sizeKeyOf } from './family-stats.ts';

/** Fewest other releases a consensus is drawn from, and the share the majority value must have. */
export const CONSENSUS_MIN_RELEASES = 5;
export const CONSENSUS_MIN_SHARE = 0.9;

function codeFor(key: string, value: string): FindingCode {
  if (key.endsWith('_act') || key === 'hidden_activation') return 'ACT_MISMATCH';
  if (key === 'max_position_embeddings') return 'MAX_POS_MISMATCH';
  if (key === 'query_pre_attn_scalar') return 'QUERY_SCALE_MISMATCH';
  if (key.startsWith('rope_scaling')) return 'ROPE_SCALING';
  if (key.endsWith('softcapping') && value === 'null') return 'SOFTCAP_MISSING';
  return 'CONFIG_HPARAM_MISMATCH';
}

interface Group {
  label: string;
  releases: number;
  values: FamilyStats['values'];
}

/**
 * Counts of one key with implicit absences (stats that skip absent keys) folded into `null`; null when the
 * statistics do not track the key at all.
 */
function countsOf(g: Group, key: string): Record<string, number> | null {
  if (!g.values[key]) return null;
  const counts = { ...g.values[key] };
  const seen = Object.values(counts).reduce((a, b) => a + b, 0);
  if (seen < g.releases) counts.null = (counts.null ?? 0) + g.releases - seen;
  return counts;
}

function disagreements(
  g: Group,
  mine: Record<string, string>,
): { key: string; row: EvidenceRow; distribution: Record<string, number> }[] {
  const out: { key: string; row: EvidenceRow; distribution: Record<string, number> }[] = [];
  for (const [key, value] of Object.entries(mine)) {
    const counts = countsOf(g, key);
    if (!counts) continue;
    const [major, n] = Object.entries(counts).reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0]);
    if (major === value || n / g.releases < CONSENSUS_MIN_SHARE) continue;
    out.push({
      key,
      distribution: counts,
      row: {
        field: key,
        value: JSON.parse(value) as unknown,
        expected: JSON.parse(major) as unknown,
        source: `family consensus: ${n} of ${g.releases} other ${g.label} releases`,
        note: `this value in ${counts[value] ?? 0} of them`,
      },
    });
  }
  return out;
}

/**
 * Family consensus (ACT_MISMATCH, CONFIG_HPARAM_MISMATCH, MAX_POS_MISMATCH, SOFTCAP_MISSING, QUERY_SCALE_MISMATCH,
 * ROPE_SCALING): a tracked config value that disagrees with the large majority of the other releases of the
 * same model_type (same size when enough of them exist), with the distribution as evidence. The worker passes
 * the statistics in (familyStatsFrom); without them the check is skipped.
 */
export const familyConsensus: Check = {
  id: 'family-consensus',
  title: 'Config agrees with other releases of the family',
  queue: 'checks',
  codes: [
    'ACT_MISMATCH',
    'CONFIG_HPARAM_MISMATCH',
    'MAX_POS_MISMATCH',
    'SOFTCAP_MISSING',
    'QUERY_SCALE_MISMATCH',
    'ROPE_SCALING',
  ],
  run({ release, family }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    if (!family) return { status: 'skipped', reason: 'no family statistics were provided' };
    const size = sizeKeyOf(r.config);
    const sized = size ? family.sizes?.[size] : undefined;
    const group: Group =
      sized && sized.releases >= CONSENSUS_MIN_RELEASES
        ? { label: `${family.modelType} ${size}`, ...sized }
        : { label: family.modelType, releases: family.releases, values: family.values };
    if (group.releases < CONSENSUS_MIN_RELEASES) {
      return {
        status: 'skipped',
        reason: `only ${group.releases} other ${family.modelType} releases known (consensus needs ${CONSENSUS_MIN_RELEASES})`,
      };
    }
    const found = disagreements(group, consensusValues(r.config));
    const byCode = new Map<FindingCode, typeof found>();
    for (const d of found) {
      const code = codeFor(d.key, JSON.stringify(d.row.value));
      byCode.set(code, [...(byCode.get(code) ?? []), d]);
    }
    const findings: FindingInput[] = [...byCode].map(([code, ds]) =>
      tableFinding({
        code,
        severity: 'warning',
        files: ['config.json'],
        title: `Off the ${group.label} consensus: ${ds.map((d) => `${d.key} = ${JSON.stringify(d.row.value)} (most use ${JSON.stringify(d.row.expected)})`).join(', ')}`,
        detail: `At least ${Math.round(CONSENSUS_MIN_SHARE * 100)}% of the other releases of this family agree on these values; a release that differs is either a deliberate change worth documenting or a copy-paste error.`,
        table: ds.map((d) => d.row),
        extra: { distribution: Object.fromEntries(ds.map((d) => [d.key, d.distribution])), releases: group.releases },
      }),
    );
    return { status: 'findings', findings };
  },
};
