import type { Check, FindingInput } from '../types.ts';
import { keyPath, readModelConfig, show, type ModelConfig } from './config-read.ts';
import { tableFinding, type EvidenceRow } from './evidence.ts';

const ACTIVATION_KEYS = ['hidden_act', 'hidden_activation', 'mlp_hidden_act'];

function present(c: ModelConfig): { key: string; value: string }[] {
  return ACTIVATION_KEYS.filter((k) => typeof c.text[k] === 'string').map((k) => ({
    key: k,
    value: c.text[k] as string,
  }));
}

/** Family rule: every activation key the config carries must name the family's activation. */
function familyFinding(c: ModelConfig): FindingInput | null {
  const fam = c.family;
  if (!fam) return null;
  const allowed = fam.activations.value;
  const keys = present(c).filter((p) => fam.activationKeys.includes(p.key) || p.key === 'hidden_act');
  const wrong = keys.filter((p) => !allowed.includes(p.value));
  if (!wrong.length) return null;
  const anyRight = keys.some((p) => allowed.includes(p.value));
  const table: EvidenceRow[] = keys.map((p) => ({
    field: keyPath(c, p.key),
    value: p.value,
    expected: allowed,
    source: fam.activations.source,
  }));
  for (const k of fam.activationKeys.filter((k) => !(k in c.text))) {
    table.push({
      field: keyPath(c, k),
      value: null,
      expected: allowed,
      source: fam.activations.source,
      note: 'absent',
    });
  }
  const w = wrong[0];
  return tableFinding({
    code: 'ACT_MISMATCH',
    severity: anyRight ? 'warning' : 'critical',
    files: ['config.json'],
    title: anyRight
      ? `Conflicting activation keys: ${w.key} = ${show(w.value)} while another key names ${c.modelType}'s activation`
      : `${w.key} = ${show(w.value)}, but ${c.modelType} uses ${allowed[0]}`,
    detail: anyRight
      ? `Which key wins depends on the reader: the reference reads ${fam.activationKeys.join(', then ')}; converters and runtimes that read ${w.key} compute the wrong activation.`
      : `Every reader of ${w.key} computes ${w.value} instead of the activation the model was trained with; outputs drift from the reference (Gemma's exact-vs-tanh GELU bug class).`,
    table,
  });
}

/** Generic rules that need no family data: activation under a non-standard key, or two keys that disagree. */
function genericFindings(c: ModelConfig): FindingInput[] {
  const p = present(c);
  const out: FindingInput[] = [];
  const act = p.find((x) => x.key === 'hidden_act');
  const mlp = p.find((x) => x.key === 'mlp_hidden_act');
  if (mlp && !act) {
    out.push(
      tableFinding({
        code: 'ACT_MISMATCH',
        severity: 'info',
        files: ['config.json'],
        title: `Activation stored only under mlp_hidden_act (${show(mlp.value)})`,
        detail:
          'Tools that read hidden_act fall back to their default (usually silu) and build the wrong MLP (Nemotron-H names it mlp_hidden_act; noted in NVIDIA Megatron-Bridge).',
        table: [
          { field: keyPath(c, 'mlp_hidden_act'), value: mlp.value, source: 'config.json' },
          {
            field: keyPath(c, 'hidden_act'),
            value: null,
            expected: mlp.value,
            source: 'Megatron-Bridge note on Nemotron-H configs (readers of hidden_act fall back to silu)',
          },
        ],
      }),
    );
  }
  const distinct = new Set(p.filter((x) => x.key !== 'mlp_hidden_act').map((x) => x.value));
  if (!c.family && distinct.size > 1) {
    out.push(
      tableFinding({
        code: 'ACT_MISMATCH',
        severity: 'warning',
        files: ['config.json'],
        title: `Activation keys disagree: ${p.map((x) => `${x.key} = ${show(x.value)}`).join(', ')}`,
        detail:
          'Different readers pick different keys, so the model computes different activations depending on the runtime.',
        table: p.map((x) => ({ field: keyPath(c, x.key), value: x.value, source: 'config.json' })),
      }),
    );
  }
  return out;
}

/**
 * ACT_MISMATCH: the activation in config.json against the family's real one (data with sources in
 * checks/data/families.ts), and activation keys that disagree or sit under a key most readers ignore.
 * Unknown model_types get the generic rules only.
 */
export const activationFamily: Check = {
  id: 'activation-family',
  title: 'Activation matches the model family',
  queue: 'checks',
  codes: ['ACT_MISMATCH'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    const fam = familyFinding(r.config);
    return { status: 'findings', findings: [...(fam ? [fam] : []), ...genericFindings(r.config)] };
  },
};
