/**
 * Which `architectures` classes go with which `model_type`, and which tensor names mark which layout, as data.
 *
 * transformers pairs every model_type with classes named after it: `MODEL_FOR_CAUSAL_LM_MAPPING_NAMES` in
 * src/transformers/models/auto/modeling_auto.py maps ("llama", "LlamaForCausalLM"), ("qwen2_moe",
 * "Qwen2MoeForCausalLM"), ("gemma3", "Gemma3ForConditionalGeneration"), ... and CONFIG_MAPPING_NAMES in
 * configuration_auto.py maps the same model_type to its config class. A class's stem (its name without the head
 * suffix), lower-cased without separators, is the model_type lower-cased without separators.
 */

/** Head suffixes of transformers classes (modeling_auto.py mapping values). */
export const CLASS_HEAD_SUFFIXES = [
  'ForConditionalGeneration',
  'ForSequenceClassification',
  'ForTokenClassification',
  'ForQuestionAnswering',
  'ForImageTextToText',
  'ForCausalLM',
  'LMHeadModel',
  'Model',
];

/**
 * model_types of decoder language models in CONFIG_MAPPING_NAMES (configuration_auto.py). A class stem that
 * names one of these names that family; a stem that names none is a class we know nothing about (no finding).
 */
export const KNOWN_MODEL_TYPES = [
  'llama',
  'llama4',
  'mistral',
  'mistral3',
  'mixtral',
  'qwen',
  'qwen2',
  'qwen2_moe',
  'qwen2_vl',
  'qwen2_5_vl',
  'qwen3',
  'qwen3_moe',
  'gemma',
  'gemma2',
  'gemma3',
  'gemma3n',
  'phi',
  'phi3',
  'phimoe',
  'falcon',
  'gpt2',
  'gptj',
  'gpt_neox',
  'gpt_bigcode',
  'gpt_oss',
  'bloom',
  'opt',
  'mpt',
  'starcoder2',
  'cohere',
  'cohere2',
  'olmo',
  'olmo2',
  'olmoe',
  'granite',
  'granitemoe',
  'stablelm',
  'nemotron',
  'deepseek_v2',
  'deepseek_v3',
  'internlm2',
  'exaone',
  'dbrx',
  'jamba',
  'mamba',
  'glm',
  'glm4',
  'glm4_moe',
  'mllama',
  'llava',
  'baichuan',
  'chatglm',
  'minicpm',
];

/**
 * model_types whose classes carry another stem in transformers: the text-only half of a multimodal family
 * (Gemma3ForCausalLM has model_type gemma3_text, configuration_gemma3.py Gemma3TextConfig; Llama4ForCausalLM has
 * llama4_text, configuration_llama4.py Llama4TextConfig).
 */
export const CLASS_STEM_ALIASES: Record<string, string[]> = {
  gemma3_text: ['gemma3'],
  llama4_text: ['llama4'],
  qwen3_vl_text: ['qwen3vl'],
};

export const IDENTITY_SOURCE =
  'transformers src/transformers/models/auto/modeling_auto.py (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, read at 005b957f) and configuration_auto.py (CONFIG_MAPPING_NAMES)';

/** How a family names its layers' tensors, with the modeling file that defines the names. */
export interface LayoutSignature {
  /** `experts`: the MLP is a mixture of experts; `dense`: one MLP per layer. */
  mlp: 'experts' | 'dense';
  /** `separate`: self_attn.q_proj / k_proj / v_proj; `fused`: one self_attn.qkv_proj. */
  attention: 'separate' | 'fused';
  source: string;
}

const DENSE = (file: string, attention: LayoutSignature['attention'] = 'separate'): LayoutSignature => ({
  mlp: 'dense',
  attention,
  source: `transformers ${file}: one MLP per layer, ${attention === 'fused' ? 'fused self_attn.qkv_proj' : 'self_attn.q_proj/k_proj/v_proj'}`,
});
const MOE = (file: string, names: string): LayoutSignature => ({
  mlp: 'experts',
  attention: 'separate',
  source: `transformers ${file}: ${names}, self_attn.q_proj/k_proj/v_proj`,
});

/** The MLP layout each model_type's reference class loads (its state-dict names). */
export const LAYOUTS: Record<string, LayoutSignature> = {
  llama: DENSE('modeling_llama.py LlamaMLP'),
  mistral: DENSE('modeling_mistral.py MistralMLP'),
  qwen2: DENSE('modeling_qwen2.py Qwen2MLP'),
  qwen3: DENSE('modeling_qwen3.py Qwen3MLP'),
  gemma: DENSE('modeling_gemma.py GemmaMLP'),
  gemma2: DENSE('modeling_gemma2.py Gemma2MLP'),
  gemma3_text: DENSE('modeling_gemma3.py Gemma3MLP'),
  phi3: DENSE('modeling_phi3.py Phi3MLP / Phi3Attention', 'fused'),
  starcoder2: DENSE('modeling_starcoder2.py Starcoder2MLP'),
  olmo: DENSE('modeling_olmo.py OlmoMLP'),
  olmo2: DENSE('modeling_olmo2.py Olmo2MLP'),
  cohere: DENSE('modeling_cohere.py CohereMLP'),
  granite: DENSE('modeling_granite.py GraniteMLP'),
  nemotron: DENSE('modeling_nemotron.py NemotronMLP'),
  mixtral: MOE('modeling_mixtral.py', 'block_sparse_moe.gate + block_sparse_moe.experts.N.w1/w2/w3'),
  qwen2_moe: MOE('modeling_qwen2_moe.py', 'mlp.gate + mlp.experts.N + mlp.shared_expert'),
  qwen3_moe: MOE('modeling_qwen3_moe.py', 'mlp.gate + mlp.experts.N'),
  olmoe: MOE('modeling_olmoe.py', 'mlp.gate + mlp.experts.N'),
  phimoe: MOE('modeling_phimoe.py', 'block_sparse_moe.gate + block_sparse_moe.experts.N'),
};

/** Tensor names of mixture-of-experts layers (expert weights, fused or per expert). */
export const EXPERT_TENSOR = /\.(experts|block_sparse_moe|shared_experts?)\./;
/** Attention projections stored one per q/k/v, or fused into one matrix. */
export const SEPARATE_QKV_TENSOR = /\.self_attn\.(q_proj|k_proj|v_proj)\./;
export const FUSED_QKV_TENSOR = /\.self_attn\.qkv_proj\./;
