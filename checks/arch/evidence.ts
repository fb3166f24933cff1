import type { FindingInput, Severity } from '../types.ts';

/**
 * One row of the evidence table a person reads: the field, this release's value, the value it is compared with
 * (expected from family data or the weights, the base model's, or the previous revision's), and where the
 * comparison value comes from.
 */
export interface EvidenceRow {
  field: string;
  value: unknown;
  expected?: unknown;
  base?: unknown;
  previous?: unknown;
  source: string;
  /** Optional extra column (e.g. sensitivity of a changed key, or a note). */
  note?: string;
}

const rank: Record<Severity, number> = { info: 1, warning: 2, critical: 3 };

/** The worse of severities (info < warning < critical). */
export function worst(severities: Severity[]): Severity {
  return severities.reduce<Severity>((a, b) => (rank[b] > rank[a] ? b : a), 'info');
}

/** Keeps undefined out of evidence (JSON drops it anyway; null says "absent" explicitly). */
export function orNull(v: unknown): unknown {
  return v === undefined ? null : v;
}

/** A finding whose evidence is a table (plus any extra structured evidence). */
export function tableFinding(
  f: Omit<FindingInput, 'evidence'> & { table: EvidenceRow[]; extra?: Record<string, unknown> },
): FindingInput {
  const { table, extra, ...rest } = f;
  const rows = table.map((r) => ({ ...r, value: orNull(r.value) }));
  return { ...rest, evidence: { table: rows, ...(extra ?? {}) } };
}
