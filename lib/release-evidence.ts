/**
 * Evidence too large to repeat in every finding of a release. The untrained-token findings each carry the
 * embedding/lm_head row-norm profiles (512 buckets × 3 series per matrix) and the release-wide untrained id ranges;
 * they are the same for every finding of the release, so they are stored once per release and kind, and each
 * finding keeps a reference (`evidenceRef`) instead.
 */
import type { Finding } from '../checks/types.ts';

/** The kind under which row-norm profiles are stored. */
export const NORM_PROFILES = 'norm-profiles';

/** One piece of release-level evidence: a kind and its JSON data. */
export interface ReleaseEvidence {
  kind: string;
  data: Record<string, unknown>;
}

/** What is stored under NORM_PROFILES: the profiles, and the id ranges the plot marks as flagged. */
export interface NormProfilesEvidence {
  profiles: unknown[];
  flagged: [number, number][];
  medianNorm: number | null;
}

/**
 * Moves row-norm profiles (and the release-wide flagged ranges beside them) out of findings' evidence.
 * Returns the findings with `evidenceRef` in place of the profiles, and the evidence to store once.
 */
export function splitLargeEvidence(findings: Finding[]): { findings: Finding[]; stored: ReleaseEvidence[] } {
  let profiles: NormProfilesEvidence | null = null;
  const out = findings.map((f) => {
    const ev = f.evidence;
    if (!Array.isArray(ev.profiles)) return f;
    const { profiles: p, untrainedIds, ...rest } = ev;
    profiles ??= {
      profiles: p as unknown[],
      flagged: Array.isArray(untrainedIds) ? (untrainedIds as [number, number][]) : [],
      medianNorm: typeof ev.medianNorm === 'number' ? ev.medianNorm : null,
    };
    return { ...f, evidence: { ...rest, evidenceRef: NORM_PROFILES } };
  });
  return {
    findings: out,
    stored: profiles ? [{ kind: NORM_PROFILES, data: profiles as unknown as Record<string, unknown> }] : [],
  };
}
