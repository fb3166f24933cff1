import { DROPOUT_KEYS } from '../data/config-keys.ts';
import type { Check } from '../types.ts';
import { keyPath, num, readModelConfig, type ModelConfig } from './config-read.ts';
import { tableFinding, type EvidenceRow } from './evidence.ts';

function dropoutRows(c: ModelConfig): EvidenceRow[] {
  const objs = c.text === c.raw ? [c.text] : [c.text, c.raw];
  const seen = new Set<string>();
  const rows: EvidenceRow[] = [];
  for (const o of objs) {
    for (const k of DROPOUT_KEYS) {
      const v = num(o, k);
      if (v === null || v <= 0 || seen.has(k)) continue;
      seen.add(k);
      rows.push({
        field: o === c.text ? keyPath(c, k) : k,
        value: v,
        expected: 0,
        source:
          'released checkpoints set dropout to 0; transformers applies it whenever the model is in train mode (fine-tuning)',
      });
    }
  }
  return rows;
}

function epsRows(c: ModelConfig): EvidenceRow[] {
  const ref = c.family?.normEps;
  if (!ref) return [];
  const v = num(c.text, ref.key);
  if (v === null || ref.value.some((e) => Math.abs(v - e) <= e * 1e-6)) return [];
  return [{ field: keyPath(c, ref.key), value: v, expected: ref.value, source: ref.source }];
}

/**
 * CONFIG_HPARAM_MISMATCH: training-time values left in a release (dropout above zero) and a norm epsilon off
 * the values the family's released checkpoints use.
 */
export const configHparams: Check = {
  id: 'config-hparams',
  title: 'No training-time or off-family hyper-parameters',
  queue: 'checks',
  codes: ['CONFIG_HPARAM_MISMATCH'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    const c = r.config;
    const drop = dropoutRows(c);
    const eps = epsRows(c);
    const findings = [];
    if (drop.length) {
      findings.push(
        tableFinding({
          code: 'CONFIG_HPARAM_MISMATCH',
          severity: 'warning',
          files: ['config.json'],
          title: `Dropout left on in the release: ${drop.map((d) => `${d.field} = ${d.value}`).join(', ')}`,
          detail:
            'Inference is unaffected (eval mode), but anyone fine-tuning this checkpoint trains with dropout the publisher probably did not intend.',
          table: drop,
        }),
      );
    }
    if (eps.length) {
      findings.push(
        tableFinding({
          code: 'CONFIG_HPARAM_MISMATCH',
          severity: 'warning',
          files: ['config.json'],
          title: `${eps[0].field} is ${eps[0].value}, off the ${c.modelType} family (${(eps[0].expected as number[]).join(' or ')})`,
          detail:
            'The norm epsilon is baked into training; a different value shifts every normalised activation, which matters most for small norms and low precision.',
          table: eps,
        }),
      );
    }
    return { status: 'findings', findings };
  },
};
