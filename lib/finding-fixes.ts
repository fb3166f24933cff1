/**
 * The one-line "what to do" for each finding code, for alerts and reports: the action a model publisher (or a user
 * pinning a revision) takes. Findings carry their specifics in `detail`; these lines say what to do about the kind.
 */
import type { FindingCode } from '../checks/types.ts';

// Partial so that a new code never breaks the build; lib/finding-fixes.test.ts asserts every catalog code has a line.
const FIXES: Partial<Record<FindingCode, string>> = {
  ACT_MISMATCH: 'Set the activation in config.json to the one the family was trained with, and re-upload.',
  HEAD_DIM_MISMATCH: 'Make head_dim agree with hidden_size / num_attention_heads and the attention tensor shapes.',
  QUERY_SCALE_MISMATCH: "Set query_pre_attn_scalar to the value the model was trained with (the family's).",
  SWA_OFF_BY_ONE: 'Set sliding_window to the window the model was trained with, not one less.',
  SWA_MISMATCH: 'Remove sliding_window (or set use_sliding_window false): this family was trained with full attention.',
  ROPE_SCALING: 'Fix rope_scaling so its type and factors match the schema and the context length trained for.',
  SOFTCAP_MISSING:
    'Add the logit soft-capping values (attn_logit_softcapping, final_logit_softcapping) the family uses.',
  MAX_POS_MISMATCH: 'Set max_position_embeddings to the context length the model was trained and scaled for.',
  CONFIG_HPARAM_MISMATCH: 'Reset training-time values in config.json (dropout 0, use_cache true, family norm eps).',
  SHAPE_MISMATCH: 'Make config.json agree with the tensor shapes, or re-export the weights from the intended config.',
  TIED_EMBEDDINGS_MISMATCH: 'Set tie_word_embeddings to match the weights: false when lm_head.weight is shipped.',
  DTYPE_MISMATCH: 'Set torch_dtype to the dtype the weights are stored in, or re-save the weights in the declared one.',
  BASE_MODEL_MISMATCH: 'Check base_model in the model card and the config values inherited from it.',
  CONFIG_CHANGED: 'Review the config change against the previous revision; pin the previous revision if unintended.',
  REMOTE_CODE: 'Read the modeling code before loading with trust_remote_code; pin the revision you reviewed.',
  MODEL_TYPE_MISMATCH: 'Make model_type, architectures and the tensor names describe the same architecture.',
  ARCHITECTURES_MISSING: 'Add architectures to config.json so loaders pick the right model class.',
  SPECIAL_TOKEN_ID_MISMATCH: 'Make bos/eos/pad ids agree across config.json, generation_config.json and the tokenizer.',
  TOKEN_ID_OUT_OF_RANGE: 'Use token ids inside the vocabulary, or resize the embeddings to cover them.',
  VOCAB_SIZE_MISMATCH: 'Make vocab_size match the embedding rows and cover every tokenizer id.',
  EOS_MISMATCH: "Add the chat template's turn terminator to eos_token_id in generation_config.json.",
  PAD_EQ_EOS: 'Use a pad token distinct from EOS, so fine-tuning does not learn to never stop.',
  DOUBLE_BOS: 'Drop the BOS from the chat template or set add_bos_token false: inputs must start with one BOS.',
  CHAT_TEMPLATE_MISSING_BOS: 'Start the chat template with the BOS token, or let the tokenizer add it.',
  CHAT_TEMPLATE_ERROR: 'Fix the chat template so it renders a plain system/user/assistant conversation.',
  CHAT_TEMPLATE_MISSING:
    'Ship the chat template the model was trained with (chat_template.jinja or tokenizer_config.json).',
  CHAT_TEMPLATE_GEN_PROMPT: 'Write the assistant header only under {% if add_generation_prompt %}, after the messages.',
  CHAT_TEMPLATE_DUP_SYSTEM:
    "Render the user's system message once, and the default system prompt only when none is given.",
  CHAT_TEMPLATE_UNKNOWN_TOKEN: 'Use only tokens the tokenizer has as special tokens in the chat template.',
  SPECIAL_TOKEN_NORMALIZED: 'Set normalized false on special tokens so they are matched verbatim.',
  SPECIAL_TOKEN_SPLIT: 'Register the token as a special (added) token so it encodes to one id.',
  TOKENIZER_FAST_SLOW_MISMATCH: 'Regenerate tokenizer.json from the slow tokenizer (or fix its normalizer settings).',
  TOKENIZER_ROUNDTRIP: 'Fix the tokenizer so decoding an encoding gives the text back.',
  TOKENIZER_CHANGED: 'Review the tokenizer change against the previous revision; re-tokenize cached data if intended.',
  LEGACY_SPM: 'Set legacy false in tokenizer_config.json (or document the legacy behaviour).',
  UNTRAINED_TOKENS:
    'Train or re-initialise the untrained rows (e.g. to the mean embedding) before fine-tuning on them.',
  UNTRAINED_SPECIAL_TOKEN: 'Initialise the special token rows (e.g. to the mean embedding) or use trained tokens.',
  NONFINITE_WEIGHTS: 'Re-export the weights: tensors hold NaN or Inf values.',
  WEIGHTS_IDENTICAL_TO_BASE: 'Upload the fine-tuned weights: these are the base model unchanged.',
  LOW_RANK_DELTA: 'Say in the model card that this is a merged LoRA (rank and modules) of its base.',
  WEIGHTS_NOT_FROM_BASE: 'Correct base_model in the model card: the weights do not derive from it.',
  UNSAFE_PICKLE: 'Do not load this file; ship safetensors, and remove the pickle that imports unsafe callables.',
  PICKLE_WEIGHTS: 'Ship the weights as safetensors; pickle files can run code when loaded.',
  FILE_MALFORMED: 'Fix or re-upload the malformed file.',
  FILE_SKIPPED: 'Ship the file as a regular file inside the repo (not a link out of it or a special file).',
  FILE_TOO_LARGE: 'Shrink or split the file; hubwatch could not read it whole.',
  CHECK_ERROR: 'A check could not run; see its error, and re-check once it is fixed.',
};

/** The line "what to do" for a finding code (a generic line for a code that has none yet). */
export function fixFor(code: string): string {
  return FIXES[code as FindingCode] ?? 'See the finding detail and the release page for what to change.';
}
