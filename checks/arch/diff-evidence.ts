import { SENSITIVITY_SOURCE } from '../data/config-keys.ts';
import type { Severity } from '../types.ts';
import type { ConfigChange, TensorDiff } from './config-diff.ts';
import { isVocabResize } from './config-diff.ts';
import type { EvidenceRow } from './evidence.ts';

export type Against = 'base' | 'previous';

/**
 * Severity of one changed key. Against the base: a changed activation, softcap, attention scale or eps is
 * critical (the weights were trained under the base's value) unless the release is the side that matches the
 * family reference. Against the previous revision: a change away from the reference is a critical regression,
 * a change towards it is a fix (info), any other sensitive change a warning.
 */
export function changeSeverity(ch: ConfigChange, against: Against): Severity {
  if (ch.reference === 'ours') return 'info';
  if (against === 'previous') {
    if (ch.reference === 'theirs' && ch.sensitivity === 'critical') return 'critical';
    return ch.sensitivity === 'critical' || ch.sensitivity === 'high' ? 'warning' : 'info';
  }
  if (ch.sensitivity === 'critical') return 'critical';
  return ch.sensitivity === 'high' ? 'warning' : 'info';
}

function referenceNote(ch: ConfigChange, against: Against): string {
  if (ch.reference === 'ours')
    return `this release matches the family reference; the ${against} does not${against === 'previous' ? ' (a fix: re-convert copies made from earlier revisions)' : ''}`;
  if (ch.reference === 'theirs') return `the ${against} matches the family reference; this release does not`;
  return '';
}

/** Evidence rows for changed config keys. */
export function changeRows(changes: ConfigChange[], against: Against): EvidenceRow[] {
  return changes.map((ch) => ({
    field: ch.key,
    value: ch.ours ?? null,
    [against]: ch.theirs ?? null,
    source: SENSITIVITY_SOURCE,
    note: [`${ch.sensitivity} sensitivity`, `${changeSeverity(ch, against)}`, referenceNote(ch, against)]
      .filter(Boolean)
      .join('; '),
  }));
}

/** Whether a tensor diff changes the architecture (removed or reshaped tensors other than a vocabulary resize). */
export function structural(d: TensorDiff): boolean {
  return d.removed.length > 0 || d.reshaped.some((r) => !isVocabResize(r));
}

/** Evidence rows for the tensor inventory diff (reshaped tensors listed, added/removed counted). */
export function tensorRows(d: TensorDiff, against: Against): EvidenceRow[] {
  const rows: EvidenceRow[] = d.reshaped.slice(0, 20).map((r) => ({
    field: r.name,
    value: r.ours,
    [against]: r.theirs,
    source: 'safetensors headers',
    note: isVocabResize(r) ? 'vocabulary resize' : 'reshaped',
  }));
  if (d.added.length)
    rows.push({
      field: 'tensors added',
      value: d.added.length,
      [against]: 0,
      source: 'safetensors headers',
      note: d.added.slice(0, 5).join(', '),
    });
  if (d.removed.length)
    rows.push({
      field: 'tensors removed',
      value: 0,
      [against]: d.removed.length,
      source: 'safetensors headers',
      note: d.removed.slice(0, 5).join(', '),
    });
  if (d.retyped.length)
    rows.push({
      field: 'tensors stored in another dtype',
      value: d.retyped.length,
      source: 'safetensors headers',
      note: d.retyped
        .slice(0, 3)
        .map((r) => `${r.name}: ${r.theirs} → ${r.ours}`)
        .join(', '),
    });
  return rows;
}

/** The tensor diff, capped for storage. */
export function tensorExtra(d: TensorDiff): Record<string, unknown> {
  return {
    added: d.added.slice(0, 50),
    removed: d.removed.slice(0, 50),
    reshaped: d.reshaped.slice(0, 50),
    retyped: d.retyped.slice(0, 50),
    counts: {
      added: d.added.length,
      removed: d.removed.length,
      reshaped: d.reshaped.length,
      retyped: d.retyped.length,
    },
  };
}
