import type { FindingInput } from '../types.ts';
import { headDimOf, keyPath, numOf, variantOf, type ModelConfig } from './config-read.ts';
import { tableFinding } from './evidence.ts';

/** num_attention_heads must be a multiple of num_key_value_heads: each key/value head serves a whole group. */
function kvGroups(c: ModelConfig): FindingInput[] {
  const heads = numOf(c, 'num_attention_heads');
  const kv = 'num_key_value_heads' in c.text ? numOf(c, 'num_key_value_heads') : null;
  if (!heads || !kv || heads % kv === 0) return [];
  return [
    tableFinding({
      code: 'HEAD_DIM_MISMATCH',
      severity: 'critical',
      files: ['config.json'],
      title: `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kv}`,
      detail:
        'Grouped-query attention repeats each key/value head for num_attention_heads / num_key_value_heads query heads; with a remainder no runtime can build the attention (reshape errors) or the heads are grouped wrongly.',
      table: [
        {
          field: 'num_attention_heads / num_key_value_heads',
          value: heads / kv,
          expected: 'an integer',
          source: 'config.json (transformers repeat_kv: n_rep = num_attention_heads // num_key_value_heads)',
        },
      ],
    }),
  ];
}

/**
 * HEAD_DIM_MISMATCH decidable from config.json alone: heads not divisible into key/value groups, a hidden size
 * that does not split into heads without an explicit head_dim, a head_dim off the family's reference size, and an
 * explicit head_dim that differs from hidden_size / heads (an advisory: older runtimes derive it).
 */
export function headDimConfig(c: ModelConfig): FindingInput[] {
  return [...kvGroups(c), ...headDimRules(c)];
}

function headDimRules(c: ModelConfig): FindingInput[] {
  const hidden = numOf(c, 'hidden_size');
  const heads = numOf(c, 'num_attention_heads');
  const explicit = 'head_dim' in c.text ? numOf(c, 'head_dim') : null;
  if (hidden === null || !heads) return [];
  const perHead = hidden / heads;
  const variant = variantOf(c);
  const ref = variant?.expect.head_dim;
  const field = keyPath(c, 'head_dim');
  const hd = headDimOf(c);
  if (ref !== undefined && hd !== ref) {
    return [
      tableFinding({
        code: 'HEAD_DIM_MISMATCH',
        severity: 'critical',
        files: ['config.json'],
        title: `head_dim is ${hd}; the reference ${variant!.name} uses ${ref}`,
        detail: 'Attention heads of the wrong size cannot match the trained projections.',
        table: [{ field, value: hd, expected: ref, source: variant!.source }],
      }),
    ];
  }
  if (explicit === null) {
    if (Number.isInteger(perHead) || 'head_dim' in c.text) return [];
    return [
      tableFinding({
        code: 'HEAD_DIM_MISMATCH',
        severity: 'critical',
        files: ['config.json'],
        title: `hidden_size ${hidden} is not divisible by num_attention_heads ${heads} and no head_dim is given`,
        detail: 'The head size cannot be derived; loaders fail or truncate.',
        table: [
          { field: 'hidden_size / num_attention_heads', value: perHead, expected: 'an integer', source: 'config.json' },
        ],
      }),
    ];
  }
  if (explicit === perHead || c.family?.explicitHeadDim) return [];
  return [
    tableFinding({
      code: 'HEAD_DIM_MISMATCH',
      severity: 'info',
      files: ['config.json'],
      title: `Explicit head_dim ${explicit} differs from hidden_size / num_attention_heads (${perHead})`,
      detail:
        'Correct for the reference, but runtimes that derive the head size from hidden_size crashed or produced gibberish on such configs (Mistral-Nemo: TGI #2254, vLLM #6563, ollama #5818).',
      table: [
        {
          field,
          value: explicit,
          expected: perHead,
          source: 'hidden_size / num_attention_heads in config.json',
          note: 'advisory',
        },
      ],
    }),
  ];
}
