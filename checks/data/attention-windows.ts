/**
 * Which families were trained with full (global) attention, as data with sources. A sliding window on such a
 * family makes runtimes that honour `sliding_window` (vLLM, TGI, llama.cpp converters) cut the context the
 * model was trained to use. Families that do use a window (Mistral-7B-v0.1, Mixtral, Gemma 2/3, Phi-3,
 * StarCoder2) are absent: their windows are checked against reference sizes elsewhere, never flagged here.
 */

export interface WindowRule {
  modelTypes: string[];
  /** A config key that switches the window on; absent: the window is in use whenever `sliding_window` is set. */
  switchKey?: string;
  source: string;
}

export const FULL_ATTENTION: WindowRule[] = [
  {
    modelTypes: ['llama'],
    source:
      'meta-llama/llama3 model.py Attention (causal mask over the whole context); transformers LlamaConfig has no sliding_window',
  },
  {
    modelTypes: ['gemma'],
    source:
      'google/gemma_pytorch gemma/config.py: Gemma 1 sizes use global attention only (local sliding windows arrive with Gemma 2 attn_types)',
  },
  {
    modelTypes: ['qwen2', 'qwen2_moe', 'qwen3', 'qwen3_moe'],
    switchKey: 'use_sliding_window',
    source:
      'transformers configuration_qwen2.py / configuration_qwen3.py: sliding_window applies only when use_sliding_window is true (default false); released Qwen2, Qwen2.5 and Qwen3 configs set it false',
  },
  {
    modelTypes: ['deepseek_v2', 'deepseek_v3'],
    source: 'DeepSeek-V2 / V3 technical reports: multi-head latent attention over the full context, no window',
  },
  {
    modelTypes: ['falcon', 'gpt_neox', 'olmo', 'olmo2', 'cohere', 'granite', 'internlm2', 'nemotron', 'phi'],
    source: 'transformers configuration classes of these families define no sliding_window (full causal attention)',
  },
];

/** The full-attention rule for a model_type, or null when the family may use a window (or is unknown). */
export function fullAttentionRule(modelType: string | null): WindowRule | null {
  if (!modelType) return null;
  return FULL_ATTENTION.find((r) => r.modelTypes.includes(modelType)) ?? null;
}
