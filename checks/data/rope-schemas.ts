/**
 * The `rope_scaling` / `rope_parameters` schema per `rope_type`, as the reference implementation validates it
 * (transformers modeling_rope_utils.py: ROPE_VALIDATION_FUNCTIONS, _check_received_keys: a missing required key
 * raises KeyError at load time, an unknown key only warns). `rope_theta` is required inside `rope_parameters`
 * (transformers v5) and lives at the top level with `rope_scaling` (v4), so it is optional here.
 */
export interface RopeSchema {
  required: string[];
  optional: string[];
}

export const ROPE_SCHEMA_SOURCE =
  'transformers src/transformers/modeling_rope_utils.py (_validate_*_parameters, _check_received_keys)';

export const ROPE_SCHEMAS: Record<string, RopeSchema> = {
  default: { required: [], optional: ['rope_theta', 'mrope_section', 'mrope_interleaved', 'partial_rotary_factor'] },
  linear: { required: ['factor'], optional: ['rope_theta'] },
  dynamic: { required: ['factor'], optional: ['original_max_position_embeddings', 'rope_theta'] },
  yarn: {
    required: ['factor'],
    optional: [
      'attention_factor',
      'beta_fast',
      'beta_slow',
      'original_max_position_embeddings',
      'mscale',
      'mscale_all_dim',
      'truncate',
      'rope_theta',
    ],
  },
  longrope: {
    required: ['short_factor', 'long_factor'],
    optional: ['attention_factor', 'factor', 'original_max_position_embeddings', 'rope_theta'],
  },
  llama3: {
    required: ['factor', 'original_max_position_embeddings', 'low_freq_factor', 'high_freq_factor'],
    optional: ['rope_theta'],
  },
};

/**
 * Legacy `type` values and what the reference maps them to: Phi-3 shipped `"su"` before it was renamed longrope;
 * Qwen2-VL's `"mrope"` is default RoPE with sections (transformers config back-compat code).
 */
export const ROPE_TYPE_ALIASES: Record<string, string> = { su: 'longrope', mrope: 'default' };
