/**
 * Which config keys matter how much, as data. Used by the diff checks (against the base model and the previous
 * revision), the hyper-parameter check and the family consensus.
 */

/**
 * How a changed key is reported. `critical`: the weights were trained under the old value and outputs silently
 * change (activation, softcaps, attention scale, norm eps); `high`: architecture or context handling;
 * `medium`: limits and storage; `low`: anything else; `ignored`: bookkeeping.
 */
export type Sensitivity = 'critical' | 'high' | 'medium' | 'low' | 'ignored';

const TABLE: Record<Exclude<Sensitivity, 'low'>, string[]> = {
  critical: [
    'hidden_act',
    'hidden_activation',
    'mlp_hidden_act',
    'activation_function',
    'attn_logit_softcapping',
    'final_logit_softcapping',
    'query_pre_attn_scalar',
    'rms_norm_eps',
    'layer_norm_eps',
    'layer_norm_epsilon',
    'norm_eps',
  ],
  high: [
    'head_dim',
    'hidden_size',
    'num_attention_heads',
    'num_key_value_heads',
    'num_hidden_layers',
    'intermediate_size',
    'rope_theta',
    'rope_scaling',
    'rope_parameters',
    'partial_rotary_factor',
    'rope_local_base_freq',
    'sliding_window',
    'use_sliding_window',
    'sliding_window_pattern',
    'layer_types',
    'tie_word_embeddings',
    'attention_bias',
    'mlp_bias',
    'model_type',
    'architectures',
    'original_max_position_embeddings',
    'auto_map',
  ],
  medium: [
    'max_position_embeddings',
    'torch_dtype',
    'dtype',
    'vocab_size',
    'quantization_config',
    'bos_token_id',
    'eos_token_id',
    'pad_token_id',
  ],
  ignored: [
    'transformers_version',
    '_name_or_path',
    '_commit_hash',
    'use_cache',
    '_attn_implementation',
    '_attn_implementation_autoset',
    'initializer_range',
    'unsloth_fixed',
    'unsloth_version',
  ],
};

const BY_KEY = new Map<string, Sensitivity>(
  (Object.entries(TABLE) as [Sensitivity, string[]][]).flatMap(([level, keys]) => keys.map((k) => [k, level] as const)),
);

/** Sensitivity of a (possibly dotted, e.g. `text_config.hidden_act`) config key, by its last segment. */
export function sensitivityOf(key: string): Sensitivity {
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  return BY_KEY.get(leaf) ?? 'low';
}

/** Where the sensitivity table comes from (shown in evidence). */
export const SENSITIVITY_SOURCE =
  "hubwatch sensitivity table (checks/data/config-keys.ts), from publishers' config fixes cited there";

/**
 * Dropout keys under whatever name a family uses (`attention_dropout`, `hidden_dropout_prob`, `resid_pdrop`, ...):
 * a release that leaves one above zero trains with dropout when fine-tuned (transformers applies them in train mode).
 */
export const DROPOUT_KEY = /(dropout|_pdrop$|dropout_prob$)/;

/**
 * Training-time switches left on in a release, with the value a release should carry and why (transformers
 * configuration docs: `use_cache` "whether the model should return the last key/values attentions";
 * `output_router_logits` "whether the router logits should be returned ... allows the auxiliary loss").
 */
export const TRAINING_SWITCHES: { key: string; training: unknown; release: unknown; why: string }[] = [
  {
    key: 'use_cache',
    training: false,
    release: true,
    why: 'generate() without the KV cache recomputes every position at every step (outputs are right, generation is slow); trainers turn it off for gradient checkpointing',
  },
  {
    key: 'output_router_logits',
    training: true,
    release: false,
    why: 'router logits (for the load-balancing loss) are returned and kept at every forward pass: memory and time spent on a training-only output',
  },
];

/** Keys the family consensus tracks (activation, eps, rope theta, max positions, softcaps, attention scale). */
export const CONSENSUS_KEYS = [
  'hidden_act',
  'hidden_activation',
  'mlp_hidden_act',
  'rms_norm_eps',
  'layer_norm_eps',
  'layer_norm_epsilon',
  'norm_eps',
  'rope_theta',
  'max_position_embeddings',
  'partial_rotary_factor',
  'attn_logit_softcapping',
  'final_logit_softcapping',
  'query_pre_attn_scalar',
  'rope_scaling.rope_type',
];

/** Config keys whose presence means the attention projections are not plain heads × head_dim (MLA, gated outputs). */
export const NON_STANDARD_ATTENTION_KEYS = [
  'kv_lora_rank',
  'q_lora_rank',
  'qk_nope_head_dim',
  'attn_output_gate',
  'headwise_attn_output_gate',
];

/** tokenizer_config.json's "no limit" sentinel (int(1e30) as transformers writes it) and anything that large. */
export const MODEL_MAX_LENGTH_SENTINEL = 1e15;
