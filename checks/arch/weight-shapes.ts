import { NON_STANDARD_ATTENTION_KEYS } from '../data/config-keys.ts';
import type { TensorInfo } from '../types.ts';
import { headDimOf, numOf, type ModelConfig } from './config-read.ts';
import type { EvidenceRow } from './evidence.ts';
import { FLOAT_DTYPES, type TextLayout } from './tensor-layout.ts';

/** A tensor whose header shape contradicts the shape the config implies. */
interface Mismatch {
  code: 'SHAPE_MISMATCH' | 'HEAD_DIM_MISMATCH';
  role: string;
  layer: number | null;
  shape: number[];
  expected: number[];
  because: string;
}

interface Dims {
  hidden: number | null;
  heads: number | null;
  kv: number | null;
  headDim: number | null;
  inter: number | null;
  vocab: number | null;
}

function dimsOf(c: ModelConfig): Dims {
  const heads = numOf(c, 'num_attention_heads');
  return {
    hidden: numOf(c, 'hidden_size'),
    heads,
    kv: numOf(c, 'num_key_value_heads') ?? heads,
    headDim: headDimOf(c),
    inter: numOf(c, 'intermediate_size'),
    vocab: numOf(c, 'vocab_size'),
  };
}

type Rule = { role: string; expect: (d: Dims) => (number | null)[]; because: string; attention: boolean };

const mul = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a * b);

const RULES: Rule[] = [
  {
    role: 'self_attn.q_proj.weight',
    expect: (d) => [mul(d.heads, d.headDim), d.hidden],
    because: 'num_attention_heads × head_dim, hidden_size',
    attention: true,
  },
  {
    role: 'self_attn.k_proj.weight',
    expect: (d) => [mul(d.kv, d.headDim), d.hidden],
    because: 'num_key_value_heads × head_dim, hidden_size',
    attention: true,
  },
  {
    role: 'self_attn.v_proj.weight',
    expect: (d) => [mul(d.kv, d.headDim), d.hidden],
    because: 'num_key_value_heads × head_dim, hidden_size',
    attention: true,
  },
  {
    role: 'self_attn.o_proj.weight',
    expect: (d) => [d.hidden, mul(d.heads, d.headDim)],
    because: 'hidden_size, num_attention_heads × head_dim',
    attention: true,
  },
  {
    role: 'self_attn.qkv_proj.weight',
    expect: (d) => [
      d.heads !== null && d.kv !== null && d.headDim !== null ? (d.heads + 2 * d.kv) * d.headDim : null,
      d.hidden,
    ],
    because: '(num_attention_heads + 2 × num_key_value_heads) × head_dim, hidden_size',
    attention: true,
  },
  {
    role: 'mlp.gate_proj.weight',
    expect: (d) => [d.inter, d.hidden],
    because: 'intermediate_size, hidden_size',
    attention: false,
  },
  {
    role: 'mlp.up_proj.weight',
    expect: (d) => [d.inter, d.hidden],
    because: 'intermediate_size, hidden_size',
    attention: false,
  },
  {
    role: 'mlp.down_proj.weight',
    expect: (d) => [d.hidden, d.inter],
    because: 'hidden_size, intermediate_size',
    attention: false,
  },
  {
    role: 'mlp.gate_up_proj.weight',
    expect: (d) => [mul(2, d.inter), d.hidden],
    because: '2 × intermediate_size, hidden_size',
    attention: false,
  },
];

/** Whether a tensor's shape agrees with the expected one (null: not known from the config). */
function agrees(t: TensorInfo, expected: (number | null)[]): boolean {
  // Packed quantized weights (U8, I32, ...) store a different shape than the logical one.
  if (!FLOAT_DTYPES.has(t.dtype)) return true;
  return t.shape.length === expected.length && expected.every((e, i) => e === null || e === t.shape[i]);
}

function qAgrees(names: Map<string, TensorInfo>, d: Dims): boolean {
  const q = names.get('self_attn.q_proj.weight');
  return q !== undefined && agrees(q, [mul(d.heads, d.headDim), d.hidden]);
}

function layerMismatches(c: ModelConfig, layout: TextLayout, d: Dims): Mismatch[] {
  const skipAttention = NON_STANDARD_ATTENTION_KEYS.some(
    (k) => c.text[k] !== undefined && c.text[k] !== null && c.text[k] !== false,
  );
  const out: Mismatch[] = [];
  for (const [layer, names] of [...layout.layers].sort((a, b) => a[0] - b[0])) {
    for (const rule of RULES) {
      const t = names.get(rule.role);
      if (!t || (rule.attention && skipAttention)) continue;
      const expected = rule.expect(d);
      if (agrees(t, expected)) continue;
      // An attention projection that matches hidden_size but not heads × head_dim means the head size is wrong,
      // unless q_proj agrees: then only k/v disagree and the key/value head count is what is off.
      const hiddenOk = t.shape.length === 2 && t.shape.includes(d.hidden ?? -1);
      const kvOnly = /[kv]_proj/.test(rule.role) && qAgrees(names, d);
      const code = rule.attention && hiddenOk && !kvOnly ? 'HEAD_DIM_MISMATCH' : 'SHAPE_MISMATCH';
      out.push({
        code,
        role: rule.role,
        layer,
        shape: t.shape,
        expected: expected.map((e) => e ?? -1),
        because: rule.because,
      });
    }
  }
  return out;
}

function layerCountRows(c: ModelConfig, layout: TextLayout): EvidenceRow[] {
  const declared = numOf(c, 'num_hidden_layers');
  if (declared === null) return [];
  const extra = numOf(c, 'num_nextn_predict_layers') ?? 0;
  const indices = [...layout.layers.keys()].sort((a, b) => a - b);
  const contiguous = indices.every((v, i) => v === i);
  if ((indices.length === declared || indices.length === declared + extra) && contiguous) return [];
  const missing = Array.from({ length: Math.max(declared, (indices.at(-1) ?? -1) + 1) }, (_, i) => i).filter(
    (i) => !layout.layers.has(i),
  );
  return [
    {
      field: `decoder layers (${layout.prefix}layers.N)`,
      value: indices.length,
      expected: extra ? `${declared} (+${extra} MTP)` : declared,
      source: 'config num_hidden_layers',
      note: missing.length
        ? `missing layer indices: ${missing.slice(0, 20).join(', ')}`
        : `weights have layers 0..${indices.at(-1)}`,
    },
  ];
}

function matrixRow(t: TensorInfo | null, d: Dims, label: string): EvidenceRow[] {
  if (!t || agrees(t, [d.vocab, d.hidden])) return [];
  return [
    {
      field: t.name,
      value: t.shape,
      expected: [d.vocab, d.hidden],
      source: `config vocab_size, hidden_size (${label})`,
    },
  ];
}

/** Groups identical mismatches of consecutive layers into one evidence row. */
function rowsOf(ms: Mismatch[]): EvidenceRow[] {
  const groups = new Map<string, Mismatch[]>();
  for (const m of ms) {
    const k = `${m.role}|${m.shape.join('x')}|${m.expected.join('x')}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  return [...groups.values()].map((g) => {
    const layers = g.map((m) => m.layer).filter((l): l is number => l !== null);
    const span = layers.length > 1 ? `${layers[0]}..${layers.at(-1)} (${layers.length} layers)` : String(layers[0]);
    return {
      field: `layers.${span}.${g[0].role}`,
      value: g[0].shape,
      expected: g[0].expected,
      source: `config ${g[0].because}`,
    };
  });
}

/** Evidence rows per code: config-implied shapes the tensor headers contradict. */
export function shapeEvidence(c: ModelConfig, layout: TextLayout): { shape: EvidenceRow[]; headDim: EvidenceRow[] } {
  const d = dimsOf(c);
  const ms = layerMismatches(c, layout, d);
  return {
    shape: [
      ...layerCountRows(c, layout),
      ...matrixRow(layout.embed, d, 'input embedding'),
      ...matrixRow(layout.lmHead, d, 'LM head'),
      ...rowsOf(ms.filter((m) => m.code === 'SHAPE_MISMATCH')),
    ],
    headDim: rowsOf(ms.filter((m) => m.code === 'HEAD_DIM_MISMATCH')),
  };
}
