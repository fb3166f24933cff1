/**
 * Family knowledge as data: one entry per `model_type`, every value with the source it comes from (the reference
 * implementation's config class defaults and published fixes, each cited where it is used).
 * Checks read this table; none of them keys on a repo name.
 */

/** A value with the place it was read from. */
export interface Sourced<T> {
  value: T;
  source: string;
}

/** A reference size of a family: when a config matches `match`, the `expect`ed values are the reference ones. */
export interface ReferenceVariant {
  name: string;
  match: Record<string, number>;
  expect: Record<string, number>;
  source: string;
}

export interface FamilyEntry {
  modelTypes: string[];
  /** Config keys the reference implementation reads for the MLP activation, first one wins. */
  activationKeys: string[];
  /** Activations that are right for this family (ACT2FN names). */
  activations: Sourced<string[]>;
  /** Whether the reference MLP is gated (gate_proj · act(up_proj)) or plain (act(up_proj)). */
  gatedMlp: Sourced<boolean>;
  /** Norm epsilon key and the values released checkpoints of the family use. */
  normEps?: { key: string } & Sourced<number[]>;
  /** Softcapping values the reference uses; null where the family has none. */
  softcaps?: Sourced<Record<string, number>>;
  /** `query_pre_attn_scalar` is read by the attention of this family. */
  queryPreAttnScalar?: Sourced<true>;
  /** `head_dim` is decoupled from hidden_size / num_attention_heads by design (not worth an advisory). */
  explicitHeadDim?: Sourced<true>;
  /** Config class defaults that apply when a key is absent from config.json. */
  defaults: Sourced<Record<string, unknown>>;
  variants?: ReferenceVariant[];
}

/** The tanh approximations of GELU in transformers' ACT2FN (all compute 0.5·x·(1+tanh(√(2/π)(x+0.044715x³)))). */
export const GELU_TANH = ['gelu_pytorch_tanh', 'gelu_new', 'gelu_fast', 'gelu_python_tanh'];

const SRC_GEMMA_ACT =
  'transformers GemmaMLP (PR #29402): hidden_act is ignored, hidden_activation or gelu_pytorch_tanh is used; unsloth.ai/blog/gemma-bugs (reference JAX uses approximate=True)';
const SRC_GEMMA_PT = 'google/gemma_pytorch gemma/config.py @cb7c015';
const SRC_GEMMA2_CFG = 'transformers configuration_gemma2.py Gemma2Config defaults';
const SRC_GEMMA3_CFG = 'transformers configuration_gemma3.py Gemma3TextConfig defaults';

const gemma2Variants: ReferenceVariant[] = [
  {
    name: 'gemma-2 2b',
    match: { hidden_size: 2304, num_hidden_layers: 26 },
    expect: { query_pre_attn_scalar: 256, head_dim: 256, max_position_embeddings: 8192, sliding_window: 4096 },
    source: `${SRC_GEMMA_PT} get_config_for_2b_v2 (no override: head_dim)`,
  },
  {
    name: 'gemma-2 9b',
    match: { hidden_size: 3584, num_hidden_layers: 42 },
    expect: { query_pre_attn_scalar: 256, head_dim: 256, max_position_embeddings: 8192, sliding_window: 4096 },
    source: `${SRC_GEMMA_PT} get_config_for_9b; fix 03e6575 "Using head_dim instead of override scalar value for the 9b model"; llama.cpp PR #8444`,
  },
  {
    name: 'gemma-2 27b',
    match: { hidden_size: 4608, num_hidden_layers: 46 },
    expect: { query_pre_attn_scalar: 144, head_dim: 128, max_position_embeddings: 8192, sliding_window: 4096 },
    source: `${SRC_GEMMA_PT} get_config_for_27b (query_pre_attn_scalar=144, hidden_size / num_attention_heads)`,
  },
];

const gemma3Variants: ReferenceVariant[] = [
  {
    name: 'gemma-3 1b',
    match: { hidden_size: 1152, num_hidden_layers: 26 },
    expect: { query_pre_attn_scalar: 256, head_dim: 256, max_position_embeddings: 32768, sliding_window: 512 },
    source: `${SRC_GEMMA_PT} get_config_for_1b`,
  },
  {
    name: 'gemma-3 4b',
    match: { hidden_size: 2560, num_hidden_layers: 34 },
    expect: { query_pre_attn_scalar: 256, head_dim: 256, sliding_window: 1024 },
    source: `${SRC_GEMMA_PT} get_config_for_4b`,
  },
  {
    name: 'gemma-3 12b',
    match: { hidden_size: 3840, num_hidden_layers: 48 },
    expect: { query_pre_attn_scalar: 256, head_dim: 256, sliding_window: 1024 },
    source: `${SRC_GEMMA_PT} get_config_for_12b`,
  },
  {
    name: 'gemma-3 27b',
    match: { hidden_size: 5376, num_hidden_layers: 62 },
    expect: { query_pre_attn_scalar: 168, head_dim: 128, max_position_embeddings: 131072, sliding_window: 1024 },
    source: `${SRC_GEMMA_PT} get_config_for_27b_v3 (query_pre_attn_scalar=5376 // 32)`,
  },
];

const SILU: Sourced<string[]> = {
  value: ['silu', 'swish'],
  source: 'reference SwiGLU MLP (transformers LlamaMLP act_fn = ACT2FN[hidden_act], config default "silu")',
};
const GATED_LLAMA: Sourced<boolean> = {
  value: true,
  source: 'transformers LlamaMLP: down_proj(act(gate_proj(x)) * up_proj(x))',
};

export const FAMILIES: FamilyEntry[] = [
  {
    modelTypes: ['gemma'],
    activationKeys: ['hidden_activation', 'hidden_act'],
    activations: { value: GELU_TANH, source: SRC_GEMMA_ACT },
    gatedMlp: { value: true, source: 'transformers GemmaMLP (gate_proj, up_proj, down_proj)' },
    normEps: { key: 'rms_norm_eps', value: [1e-6], source: `${SRC_GEMMA_PT} rms_norm_eps=1e-6` },
    explicitHeadDim: { value: true, source: `${SRC_GEMMA_PT} head_dim=256 with hidden_size 2048/3072` },
    defaults: {
      value: { hidden_activation: 'gelu_pytorch_tanh', tie_word_embeddings: true, head_dim: 256 },
      source: 'transformers GemmaConfig defaults and GemmaMLP fallback (PR #29402)',
    },
    variants: [
      {
        name: 'gemma 2b',
        match: { hidden_size: 2048, num_hidden_layers: 18 },
        expect: { head_dim: 256, max_position_embeddings: 8192 },
        source: `${SRC_GEMMA_PT} get_config_for_2b`,
      },
      {
        name: 'gemma 7b',
        match: { hidden_size: 3072, num_hidden_layers: 28 },
        expect: { head_dim: 256, max_position_embeddings: 8192 },
        source: `${SRC_GEMMA_PT} get_config_for_7b`,
      },
    ],
  },
  {
    modelTypes: ['gemma2'],
    activationKeys: ['hidden_activation', 'hidden_act'],
    activations: {
      value: GELU_TANH,
      source: `${SRC_GEMMA2_CFG} (hidden_activation="gelu_pytorch_tanh"); ${SRC_GEMMA_ACT}`,
    },
    gatedMlp: { value: true, source: 'transformers Gemma2MLP (gate_proj, up_proj, down_proj)' },
    normEps: { key: 'rms_norm_eps', value: [1e-6], source: `${SRC_GEMMA2_CFG} rms_norm_eps=1e-6` },
    softcaps: {
      value: { attn_logit_softcapping: 50, final_logit_softcapping: 30 },
      source: `${SRC_GEMMA_PT} final_logit_softcapping=30.0, attn_logit_softcapping=50.0; ${SRC_GEMMA2_CFG}`,
    },
    queryPreAttnScalar: { value: true, source: 'transformers Gemma2Attention scaling = query_pre_attn_scalar**-0.5' },
    explicitHeadDim: { value: true, source: SRC_GEMMA_PT },
    defaults: {
      value: {
        hidden_activation: 'gelu_pytorch_tanh',
        tie_word_embeddings: true,
        head_dim: 256,
        query_pre_attn_scalar: 256,
        attn_logit_softcapping: 50,
        final_logit_softcapping: 30,
        sliding_window: 4096,
      },
      source: SRC_GEMMA2_CFG,
    },
    variants: gemma2Variants,
  },
  {
    modelTypes: ['gemma3_text', 'gemma3'],
    activationKeys: ['hidden_activation', 'hidden_act'],
    activations: { value: GELU_TANH, source: `${SRC_GEMMA3_CFG} (hidden_activation="gelu_pytorch_tanh")` },
    gatedMlp: { value: true, source: 'transformers Gemma3MLP (gate_proj, up_proj, down_proj)' },
    normEps: { key: 'rms_norm_eps', value: [1e-6], source: `${SRC_GEMMA3_CFG} rms_norm_eps=1e-6` },
    queryPreAttnScalar: { value: true, source: 'transformers Gemma3Attention scaling = query_pre_attn_scalar**-0.5' },
    explicitHeadDim: { value: true, source: SRC_GEMMA_PT },
    defaults: {
      value: {
        hidden_activation: 'gelu_pytorch_tanh',
        tie_word_embeddings: true,
        head_dim: 256,
        num_attention_heads: 8,
        num_key_value_heads: 4,
        query_pre_attn_scalar: 256,
        attn_logit_softcapping: null,
        final_logit_softcapping: null,
        rms_norm_eps: 1e-6,
        max_position_embeddings: 131072,
        sliding_window: 4096,
        vocab_size: 262208,
      },
      source: SRC_GEMMA3_CFG,
    },
    variants: gemma3Variants,
  },
  {
    modelTypes: ['llama'],
    activationKeys: ['hidden_act'],
    activations: SILU,
    gatedMlp: GATED_LLAMA,
    normEps: {
      key: 'rms_norm_eps',
      value: [1e-5, 1e-6],
      source: 'released Llama-1 (1e-6) and Llama-2/3/3.1/3.2 (1e-5) configs; see test/data/configs/PROVENANCE.md',
    },
    defaults: {
      value: { hidden_act: 'silu', tie_word_embeddings: false },
      source: 'transformers LlamaConfig defaults',
    },
  },
  {
    modelTypes: ['mistral', 'mixtral'],
    activationKeys: ['hidden_act'],
    activations: SILU,
    gatedMlp: { value: true, source: 'transformers MistralMLP / MixtralBlockSparseTop2MLP (w1 gate, w3 up, w2 down)' },
    normEps: {
      key: 'rms_norm_eps',
      value: [1e-5],
      source: 'released Mistral-7B v0.1/v0.3, Mixtral-8x7B, Mistral-Nemo configs (1e-5)',
    },
    defaults: {
      value: { hidden_act: 'silu', tie_word_embeddings: false },
      source: 'transformers MistralConfig defaults',
    },
  },
  {
    modelTypes: ['qwen2', 'qwen2_moe', 'qwen3', 'qwen3_moe'],
    activationKeys: ['hidden_act'],
    activations: SILU,
    gatedMlp: { value: true, source: 'transformers Qwen2MLP (gate_proj, up_proj, down_proj)' },
    normEps: {
      key: 'rms_norm_eps',
      value: [1e-6, 1e-5],
      source: 'released Qwen1.5/Qwen2/Qwen2.5/Qwen3 configs (1e-6; some Qwen2.5-family 32B+ use 1e-5)',
    },
    defaults: {
      value: { hidden_act: 'silu', tie_word_embeddings: false },
      source: 'transformers Qwen2Config defaults',
    },
  },
  {
    modelTypes: ['phi3'],
    activationKeys: ['hidden_act'],
    activations: SILU,
    gatedMlp: { value: true, source: 'transformers Phi3MLP: gate_up_proj (fused), chunk(2), up * act(gate)' },
    normEps: {
      key: 'rms_norm_eps',
      value: [1e-5],
      source: 'transformers Phi3Config rms_norm_eps=1e-5; released Phi-3/3.5/4-mini configs',
    },
    defaults: {
      value: { hidden_act: 'silu', tie_word_embeddings: false, partial_rotary_factor: 1 },
      source: 'transformers Phi3Config defaults',
    },
  },
  {
    modelTypes: ['nemotron'],
    activationKeys: ['hidden_act'],
    activations: {
      value: ['relu2'],
      source: 'transformers configuration_nemotron.py NemotronConfig(hidden_act="relu2"); Nemotron-4 uses squared ReLU',
    },
    gatedMlp: { value: false, source: 'transformers NemotronMLP: down_proj(act(up_proj(x))), no gate_proj' },
    normEps: { key: 'norm_eps', value: [1e-5], source: 'transformers NemotronConfig norm_eps=1e-5' },
    defaults: {
      value: { hidden_act: 'relu2', tie_word_embeddings: false, partial_rotary_factor: 0.5 },
      source: 'transformers NemotronConfig defaults',
    },
  },
  {
    modelTypes: ['nemotron_h'],
    activationKeys: ['mlp_hidden_act'],
    activations: {
      value: ['relu2'],
      source:
        'Nemotron-H configs use mlp_hidden_act="relu2" (NVIDIA Megatron-Bridge: readers of hidden_act fall back to silu)',
    },
    gatedMlp: {
      value: false,
      source:
        'Nemotron-H MLP is non-gated squared ReLU (transformers modeling_nemotron_h.py: up_proj and down_proj, no gate)',
    },
    defaults: {
      value: { mlp_hidden_act: 'relu2' },
      source:
        'NemotronHConfig defaults (vLLM transformers_utils/configs/nemotron_h.py, a copy of the reference config)',
    },
  },
  {
    modelTypes: ['bitnet'],
    activationKeys: ['hidden_act'],
    activations: { value: ['relu2'], source: 'transformers BitNetConfig(hidden_act="relu2")' },
    gatedMlp: {
      value: true,
      source: 'transformers modular_bitnet.py BitNetMLP(GemmaMLP): act(gate_proj(x)) * up_proj(x)',
    },
    defaults: { value: { hidden_act: 'relu2' }, source: 'transformers BitNetConfig defaults' },
  },
];

/** The family entry for a model_type, or null for a family hubwatch has no data on. */
export function familyOf(modelType: string | null): FamilyEntry | null {
  if (!modelType) return null;
  return FAMILIES.find((f) => f.modelTypes.includes(modelType)) ?? null;
}

/** Activations that are conventionally used without a gate (a plain up → act → down MLP). */
export const NON_GATED_ACTIVATIONS = ['relu2', 'relu_squared', 'squared_relu'];
/** Activations that are conventionally the gate of a GLU (SwiGLU). */
export const GLU_ACTIVATIONS = ['silu', 'swish'];
