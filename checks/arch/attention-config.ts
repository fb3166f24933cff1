import type { Check, FindingInput } from '../types.ts';
import {
  headDimOf,
  keyPath,
  numOf,
  readModelConfig,
  show,
  valueOf,
  variantOf,
  type ModelConfig,
} from './config-read.ts';
import { tableFinding } from './evidence.ts';
import { headDimConfig } from './head-geometry.ts';

const SRC_SCALAR =
  'reference attention: scaling = query_pre_attn_scalar**-0.5 (gemma_pytorch model.py; transformers Gemma2Attention)';

function queryScale(c: ModelConfig): FindingInput[] {
  if (!('query_pre_attn_scalar' in c.text) && !c.family?.queryPreAttnScalar) return [];
  const q = numOf(c, 'query_pre_attn_scalar');
  const hd = headDimOf(c);
  const hidden = numOf(c, 'hidden_size');
  const heads = numOf(c, 'num_attention_heads');
  if (q === null || hd === null) return [];
  const perHead = hidden !== null && heads ? hidden / heads : null;
  const variant = variantOf(c);
  const ref = variant?.expect.query_pre_attn_scalar;
  const field = keyPath(c, 'query_pre_attn_scalar');
  const base = { code: 'QUERY_SCALE_MISMATCH' as const, files: ['config.json'] };
  const detail = `Attention logits are scaled by 1/√${q} instead of 1/√${ref ?? hd}; every layer's attention is sharpened or flattened (gemma-2-9b shipped 224 instead of 256, fixed in a later commit).`;
  if (ref !== undefined) {
    if (q === ref) return [];
    return [
      tableFinding({
        ...base,
        severity: 'critical',
        title: `query_pre_attn_scalar is ${q}; the reference ${variant!.name} uses ${ref}`,
        detail,
        table: [
          { field, value: q, expected: ref, source: variant!.source },
          { field: 'head_dim', value: hd, source: 'config.json' },
          { field: 'hidden_size / num_attention_heads', value: perHead, source: 'config.json' },
        ],
      }),
    ];
  }
  if (q === hd) return [];
  const table = [
    { field, value: q, expected: hd, source: SRC_SCALAR },
    { field: 'head_dim', value: hd, source: 'config.json' },
    { field: 'hidden_size / num_attention_heads', value: perHead, source: 'config.json' },
  ];
  if (q === perHead) {
    return [
      tableFinding({
        ...base,
        severity: 'warning',
        title: `query_pre_attn_scalar is hidden_size / num_attention_heads (${q}), not head_dim (${hd})`,
        detail: `${detail} Some sizes use hidden_size / heads on purpose (gemma-2-27b: 144); compare with the reference implementation.`,
        table,
      }),
    ];
  }
  return [
    tableFinding({
      ...base,
      severity: 'critical',
      title: `query_pre_attn_scalar ${q} is neither head_dim (${hd}) nor hidden_size / num_attention_heads (${perHead ?? '?'})`,
      detail,
      table,
    }),
  ];
}

function softcaps(c: ModelConfig): FindingInput[] {
  const ref = c.family?.softcaps;
  if (!ref) return [];
  const out: FindingInput[] = [];
  for (const [key, want] of Object.entries(ref.value)) {
    const raw = key in c.text ? c.text[key] : undefined;
    const row = { field: keyPath(c, key), value: raw, expected: want, source: ref.source };
    if (raw === undefined) {
      out.push(
        tableFinding({
          code: 'SOFTCAP_MISSING',
          severity: 'warning',
          files: ['config.json'],
          title: `${key} is absent (${c.modelType} uses ${want})`,
          detail:
            'transformers falls back to its default, but converters and runtimes that read the key disable softcapping; logits are then uncapped.',
          table: [row],
        }),
      );
    } else if (raw === null || raw === 0) {
      out.push(
        tableFinding({
          code: 'SOFTCAP_MISSING',
          severity: 'critical',
          files: ['config.json'],
          title: `${key} is ${show(raw)}: softcapping disabled (${c.modelType} uses ${want})`,
          detail:
            'The model was trained with cap·tanh(x/cap) on these logits; without it attention and output logits blow up (Gemma-2 27B "drunk" without softcap).',
          table: [row],
        }),
      );
    } else if (raw !== want) {
      out.push(
        tableFinding({
          code: 'CONFIG_HPARAM_MISMATCH',
          severity: 'warning',
          files: ['config.json'],
          title: `${key} is ${show(raw)}; ${c.modelType} uses ${want}`,
          detail: 'A softcap other than the one the model was trained with changes the logits.',
          table: [row],
        }),
      );
    }
  }
  return out;
}

const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

function slidingWindow(c: ModelConfig): FindingInput[] {
  const sw = valueOf(c, 'sliding_window').value;
  if (typeof sw !== 'number' || c.text.use_sliding_window === false) return [];
  const field = keyPath(c, 'sliding_window');
  const ref = variantOf(c);
  const want = ref?.expect.sliding_window;
  if (want !== undefined && sw !== want) {
    const off = Math.abs(sw - want) === 1;
    return [
      tableFinding({
        code: off ? 'SWA_OFF_BY_ONE' : 'CONFIG_HPARAM_MISMATCH',
        severity: 'warning',
        files: ['config.json'],
        title: `sliding_window is ${sw}; the reference ${ref!.name} uses ${want}`,
        detail:
          'The attention window differs from the one the model was trained with; outputs change beyond the window.',
        table: [{ field, value: sw, expected: want, source: ref!.source }],
      }),
    ];
  }
  if (sw < 64 || !(isPow2(sw + 1) || isPow2(sw - 1))) return [];
  const near = isPow2(sw + 1) ? sw + 1 : sw - 1;
  return [
    tableFinding({
      code: 'SWA_OFF_BY_ONE',
      severity: 'warning',
      files: ['config.json'],
      title: `sliding_window is ${sw}, one off ${near}`,
      detail: `Backends disagree on whether a window of N attends N or N+1 tokens (HF eager/flash: N+1, SDPA/xformers: N), and some require a multiple of the block size (vLLM asserted (${sw}, 16) for Phi-3-mini). A value one off a power of two is almost always that ambiguity.`,
      table: [
        {
          field,
          value: sw,
          expected: near,
          source: 'Phi-3-mini-4k sliding_window 2047 vs intended 2048 (vLLM PR #4298, #4380; TRL PR #7257)',
        },
      ],
    }),
  ];
}

/**
 * QUERY_SCALE_MISMATCH, SOFTCAP_MISSING, SWA_OFF_BY_ONE, HEAD_DIM_MISMATCH (config only): attention settings
 * against the family's reference sizes and against the generic rules that need no family data.
 */
export const attentionConfig: Check = {
  id: 'attention-config',
  title: 'Attention settings match the reference',
  queue: 'checks',
  codes: ['QUERY_SCALE_MISMATCH', 'SOFTCAP_MISSING', 'SWA_OFF_BY_ONE', 'HEAD_DIM_MISMATCH', 'CONFIG_HPARAM_MISMATCH'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    const c = r.config;
    return {
      status: 'findings',
      findings: [...headDimConfig(c), ...queryScale(c), ...softcaps(c), ...slidingWindow(c)],
    };
  },
};
