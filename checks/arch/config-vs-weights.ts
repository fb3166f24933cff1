import { GLU_ACTIVATIONS, NON_GATED_ACTIVATIONS } from '../data/families.ts';
import type { Check, FindingInput, SafetensorsInventory } from '../types.ts';
import { readModelConfig, show, str, valueOf, type ModelConfig } from './config-read.ts';
import { tableFinding } from './evidence.ts';
import { FLOAT_DTYPES, mlpKind, paramsByDtype, textLayout, type TextLayout } from './tensor-layout.ts';
import { shapeEvidence } from './weight-shapes.ts';

const HEADERS = 'safetensors headers';

function shapeFindings(c: ModelConfig, layout: TextLayout): FindingInput[] {
  const { shape, headDim } = shapeEvidence(c, layout);
  const out: FindingInput[] = [];
  if (shape.length) {
    out.push(
      tableFinding({
        code: 'SHAPE_MISMATCH',
        severity: 'critical',
        files: ['config.json'],
        title: `config.json disagrees with the tensor shapes (${shape.length} ${shape.length === 1 ? 'difference' : 'differences'})`,
        detail:
          'Loaders size every module from config.json: a tensor of another shape fails to load, or layers the config does not count are silently dropped or randomly initialised.',
        table: shape,
      }),
    );
  }
  if (headDim.length) {
    out.push(
      tableFinding({
        code: 'HEAD_DIM_MISMATCH',
        severity: 'critical',
        files: ['config.json'],
        title: 'Attention projections do not have num_heads × head_dim rows',
        detail:
          'The q/k/v/o shapes imply a different head size than config.json (explicit head_dim, else hidden_size / num_attention_heads). Runtimes split the projections into heads of the configured size and produce garbage or fail.',
        table: headDim,
      }),
    );
  }
  return out;
}

function tieFindings(c: ModelConfig, layout: TextLayout): FindingInput[] {
  const tie = valueOf(c, 'tie_word_embeddings');
  if (typeof tie.value !== 'boolean' || !layout.embed) return [];
  const source = tie.from === 'default' ? `${c.family?.defaults.source} (tie_word_embeddings absent)` : 'config.json';
  const row = { field: 'tie_word_embeddings', value: tie.value, source };
  if (tie.value === false && !layout.lmHead) {
    return [
      tableFinding({
        code: 'TIED_EMBEDDINGS_MISMATCH',
        severity: 'critical',
        files: ['config.json'],
        title: 'tie_word_embeddings is false but the weights have no lm_head',
        detail:
          'With untied embeddings the loader expects an lm_head tensor; without one it is randomly initialised and the model outputs noise.',
        table: [row, { field: 'lm_head.weight', value: null, expected: layout.embed.shape, source: HEADERS }],
      }),
    ];
  }
  if (tie.value === true && layout.lmHead) {
    return [
      tableFinding({
        code: 'TIED_EMBEDDINGS_MISMATCH',
        severity: 'warning',
        files: ['config.json', layout.lmHead.file],
        title: 'tie_word_embeddings is true but the weights ship a separate lm_head',
        detail:
          'transformers ties lm_head to the input embedding and ignores the shipped lm_head; runtimes that load every tensor use it. Unless both are identical, outputs depend on the runtime.',
        table: [
          row,
          {
            field: layout.lmHead.name,
            value: layout.lmHead.shape,
            expected: null,
            source: HEADERS,
            note: `embedding ${layout.embed.name} ${JSON.stringify(layout.embed.shape)}`,
          },
        ],
      }),
    ];
  }
  return [];
}

const TORCH_TO_ST: Record<string, string> = {
  bfloat16: 'BF16',
  float16: 'F16',
  half: 'F16',
  float32: 'F32',
  float: 'F32',
  float64: 'F64',
};

function dtypeFindings(c: ModelConfig, inv: SafetensorsInventory): FindingInput[] {
  const key = typeof c.raw.torch_dtype === 'string' ? 'torch_dtype' : typeof c.raw.dtype === 'string' ? 'dtype' : null;
  const declared = key ? TORCH_TO_ST[c.raw[key] as string] : undefined;
  if (!key || !declared) return [];
  const byDtype = [...paramsByDtype(inv)].filter(([d]) => FLOAT_DTYPES.has(d) && !d.startsWith('F8'));
  const total = byDtype.reduce((a, [, n]) => a + n, 0);
  if (!total) return [];
  const [major, count] = byDtype.reduce((a, b) => (b[1] > a[1] ? b : a));
  if (major === declared) return [];
  const overflow = declared === 'F16' && major === 'BF16';
  return [
    tableFinding({
      code: 'DTYPE_MISMATCH',
      severity: 'warning',
      files: ['config.json'],
      title: `${key} is ${show(c.raw[key])} but most weights are stored as ${major}`,
      detail: overflow
        ? 'Weights trained in bfloat16 loaded as float16 can overflow (max 65504) and produce inf/NaN.'
        : 'Loaders that honour the declared dtype convert every weight on load (memory and precision differ from what the publisher ran).',
      table: [
        {
          field: key,
          value: c.raw[key],
          expected: major,
          source: HEADERS,
          note: byDtype.map(([d, n]) => `${d}: ${((100 * n) / total).toFixed(1)}% of parameters`).join(', '),
        },
      ],
      extra: { storedMajorityShare: count / total },
    }),
  ];
}

function activationOf(c: ModelConfig): { key: string; value: string } | null {
  const keys = c.family?.activationKeys ?? ['hidden_act', 'hidden_activation', 'mlp_hidden_act'];
  for (const k of keys) {
    const v = valueOf(c, k);
    if (typeof v.value === 'string') return { key: k, value: v.value };
  }
  return null;
}

function mlpFindings(c: ModelConfig, layout: TextLayout): FindingInput[] {
  const kind = mlpKind(layout);
  const act = activationOf(c);
  if (kind === 'unknown') return [];
  const fam = c.family?.gatedMlp;
  const famMismatch = fam && fam.value !== (kind === 'gated');
  const actMismatch = !fam && act && (kind === 'gated' ? NON_GATED_ACTIVATIONS : GLU_ACTIVATIONS).includes(act.value);
  if (!famMismatch && !actMismatch) return [];
  const rows = [
    {
      field: 'MLP tensors',
      value: kind === 'gated' ? 'gated (gate_proj / gate_up_proj present)' : 'plain (up_proj, down_proj; no gate)',
      source: HEADERS,
    },
    ...(act ? [{ field: act.key, value: act.value, source: 'config.json' }] : []),
    ...(fam
      ? [{ field: `${c.modelType} MLP`, value: kind, expected: fam.value ? 'gated' : 'plain', source: fam.source }]
      : []),
  ];
  return [
    tableFinding({
      code: 'ACT_MISMATCH',
      severity: famMismatch ? 'critical' : 'warning',
      files: ['config.json'],
      title: famMismatch
        ? `${c.modelType} uses a ${fam.value ? 'gated' : 'plain'} MLP but the weights are ${kind}`
        : `${kind === 'gated' ? 'Gated' : 'Plain'} MLP tensors with activation ${act?.value}, which is usually ${kind === 'gated' ? 'non-gated' : 'a GLU gate'}`,
      detail:
        'The MLP structure in the weights and the activation / architecture in config.json describe different networks; a runtime builds one of them and the other half of the weights is wrong or missing.',
      table: rows,
    }),
  ];
}

/**
 * SHAPE_MISMATCH, HEAD_DIM_MISMATCH, TIED_EMBEDDINGS_MISMATCH, DTYPE_MISMATCH, ACT_MISMATCH (MLP structure):
 * config.json against the safetensors headers alone (sharded or not). Skipped without safetensors weights.
 */
export const configVsWeights: Check = {
  id: 'config-vs-weights',
  title: 'config.json agrees with the weights',
  queue: 'checks',
  codes: ['SHAPE_MISMATCH', 'HEAD_DIM_MISMATCH', 'TIED_EMBEDDINGS_MISMATCH', 'DTYPE_MISMATCH', 'ACT_MISMATCH'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    const inv = release.safetensors;
    if (!inv || Object.keys(inv.tensors).length === 0)
      return {
        status: 'skipped',
        reason: 'no safetensors weights in the release (config only): shape checks need tensor headers',
      };
    if (inv.errors.length || inv.files.some((f) => f.error))
      return { status: 'skipped', reason: 'the safetensors inventory is incomplete (reported by files-wellformed)' };
    const c = r.config;
    const findings = dtypeFindings(c, inv);
    const layout = textLayout(inv);
    if (!layout) {
      if (findings.length) return { status: 'findings', findings };
      return {
        status: 'skipped',
        reason: `no decoder layers recognised by tensor name (${str(c.raw, 'model_type') ?? 'no model_type'}); only dtypes were compared`,
      };
    }
    findings.push(...shapeFindings(c, layout), ...tieFindings(c, layout), ...mlpFindings(c, layout));
    return { status: 'findings', findings };
  },
};
