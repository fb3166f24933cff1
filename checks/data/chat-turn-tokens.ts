/**
 * Special tokens that open or close a chat turn, per prompt format, with the public source of each. They are
 * evidence that a release is meant for chat (together with other evidence: base models often ship the same
 * vocabulary), and the terminators among them are what an instruct release stops generating on.
 */
export interface TurnFormat {
  format: string;
  /** Tokens that mark a turn (role headers, turn starts). */
  markers: string[];
  /** Tokens that end a turn; an EOS among them means generation is meant to stop at the end of a reply. */
  terminators: string[];
  source: string;
}

export const TURN_FORMATS: readonly TurnFormat[] = [
  {
    format: 'ChatML',
    markers: ['<|im_start|>'],
    terminators: ['<|im_end|>'],
    source:
      'https://github.com/openai/openai-python/blob/release-v0.28.0/chatml.md; Qwen/Qwen2.5-7B-Instruct tokenizer_config.json',
  },
  {
    format: 'Llama 3',
    markers: ['<|start_header_id|>', '<|end_header_id|>'],
    terminators: ['<|eot_id|>', '<|eom_id|>'],
    source: 'https://www.llama.com/docs/model-cards-and-prompt-formats/meta-llama-3/',
  },
  {
    format: 'Gemma',
    markers: ['<start_of_turn>'],
    terminators: ['<end_of_turn>'],
    source: 'https://ai.google.dev/gemma/docs/core/prompt-structure',
  },
  {
    format: 'Phi-3',
    markers: ['<|user|>', '<|assistant|>', '<|system|>'],
    terminators: ['<|end|>'],
    source: 'https://huggingface.co/microsoft/Phi-3-mini-4k-instruct (model card, chat format)',
  },
  {
    format: 'Mistral instruct',
    markers: ['[INST]', '[/INST]'],
    terminators: [],
    source: 'https://docs.mistral.ai/guides/tokenization/',
  },
  {
    format: 'Command-R',
    markers: ['<|START_OF_TURN_TOKEN|>', '<|USER_TOKEN|>', '<|CHATBOT_TOKEN|>'],
    terminators: ['<|END_OF_TURN_TOKEN|>'],
    source: 'https://huggingface.co/CohereForAI/c4ai-command-r-v01 (model card, prompt format)',
  },
  {
    format: 'DeepSeek-V3',
    markers: ['<｜User｜>', '<｜Assistant｜>'],
    terminators: [],
    source: 'https://huggingface.co/deepseek-ai/DeepSeek-V3 tokenizer_config.json',
  },
  {
    format: 'Granite 3',
    markers: ['<|start_of_role|>', '<|end_of_role|>'],
    // Its turns end with <|end_of_text|>, the base model's EOS too, so that is no evidence of chat.
    terminators: [],
    source: 'https://www.ibm.com/granite/docs/models/granite/ (prompt format)',
  },
];
