import { DROPOUT_KEY, TRAINING_SWITCHES } from '../data/config-keys.ts';
import type { Check, FindingInput } from '../types.ts';
import { keyPath, num, readModelConfig, type Json, type ModelConfig } from './config-read.ts';
import { tableFinding, type EvidenceRow } from './evidence.ts';

/** The text config and, for a nested multimodal config, the top level (vision towers are left out). */
function configLevels(c: ModelConfig): { obj: Json; path: (k: string) => string }[] {
  const text = { obj: c.text, path: (k: string) => keyPath(c, k) };
  return c.text === c.raw ? [text] : [text, { obj: c.raw, path: (k: string) => k }];
}

function dropoutRows(c: ModelConfig): EvidenceRow[] {
  const seen = new Set<string>();
  const rows: EvidenceRow[] = [];
  for (const { obj, path } of configLevels(c)) {
    for (const k of Object.keys(obj).sort()) {
      const v = num(obj, k);
      if (!DROPOUT_KEY.test(k) || v === null || v <= 0 || seen.has(k)) continue;
      seen.add(k);
      rows.push({
        field: path(k),
        value: v,
        expected: 0,
        source:
          'released checkpoints set dropout to 0; transformers applies it whenever the model is in train mode (fine-tuning)',
      });
    }
  }
  return rows;
}

function switchRows(c: ModelConfig): EvidenceRow[] {
  const rows: EvidenceRow[] = [];
  for (const s of TRAINING_SWITCHES) {
    const level = configLevels(c).find(({ obj }) => obj[s.key] === s.training);
    if (level) rows.push({ field: level.path(s.key), value: s.training, expected: s.release, source: s.why });
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

const list = (rows: EvidenceRow[]): string => rows.map((d) => `${d.field} = ${String(d.value)}`).join(', ');

function findingsOf(c: ModelConfig): FindingInput[] {
  const drop = dropoutRows(c);
  const switches = switchRows(c);
  const eps = epsRows(c);
  const out: FindingInput[] = [];
  const base = { code: 'CONFIG_HPARAM_MISMATCH' as const, severity: 'warning' as const, files: ['config.json'] };
  if (drop.length)
    out.push(
      tableFinding({
        ...base,
        title: `Dropout left on in the release: ${list(drop)}`,
        detail:
          'Inference is unaffected (eval mode), but anyone fine-tuning this checkpoint trains with dropout the publisher probably did not intend.',
        table: drop,
      }),
    );
  if (switches.length)
    out.push(
      tableFinding({
        ...base,
        title: `Training-time settings left in the release: ${list(switches)}`,
        detail: 'Outputs are unaffected; generation is slower or keeps training-only outputs until the key is fixed.',
        table: switches,
      }),
    );
  if (eps.length)
    out.push(
      tableFinding({
        ...base,
        title: `${eps[0].field} is ${String(eps[0].value)}, off the ${c.modelType} family (${(eps[0].expected as number[]).join(' or ')})`,
        detail:
          'The norm epsilon is baked into training; a different value shifts every normalised activation, which matters most for small norms and low precision.',
        table: eps,
      }),
    );
  return out;
}

/**
 * CONFIG_HPARAM_MISMATCH: training-time values left in a release (dropout above zero under any key, use_cache
 * false, output_router_logits true) and a norm epsilon off the values the family's released checkpoints use.
 */
export const configHparams: Check = {
  id: 'config-hparams',
  title: 'No training-time or off-family hyper-parameters',
  queue: 'checks',
  codes: ['CONFIG_HPARAM_MISMATCH'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    return { status: 'findings', findings: findingsOf(r.config) };
  },
};
