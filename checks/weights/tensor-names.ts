/**
 * The one table of where the token embedding and the output projection (lm_head) live in a checkpoint, by tensor
 * name. Every check that needs them (config vs weights, token ranges, untrained rows) goes through this module.
 * Family knowledge as data: each name with the code that defines it.
 */
import { jsonObject } from '../snapshot-files.ts';
import type { Snapshot, TensorInfo } from '../types.ts';

/** Input embedding names, most common first. */
export const EMBEDDING_NAMES: readonly string[] = [
  'model.embed_tokens.weight', // transformers LlamaModel/MistralModel/Qwen2Model/GemmaModel/Phi3Model.embed_tokens
  'model.language_model.embed_tokens.weight', // transformers ≥ 4.52 multimodal wrappers (Gemma3ForConditionalGeneration, Llava)
  'language_model.model.embed_tokens.weight', // the same wrappers as saved before 4.52 (e.g. Gemma 3, Llava 1.5 releases)
  'transformer.wte.weight', // GPT-2, GPT-J, MPT, Qwen (v1), StarCoder (modeling_gpt2.py wte)
  'gpt_neox.embed_in.weight', // GPT-NeoX, Pythia (modeling_gpt_neox.py embed_in)
  'transformer.word_embeddings.weight', // Falcon (modeling_falcon.py word_embeddings)
  'word_embeddings.weight', // BLOOM checkpoints saved without the transformer prefix
  'model.tok_embeddings.weight', // InternLM2 (modeling_internlm2.py tok_embeddings)
  'transformer.embedding.word_embeddings.weight', // ChatGLM2/3, GLM-4 (modeling_chatglm.py)
  'backbone.embeddings.weight', // Mamba (modeling_mamba.py)
  'tok_embeddings.weight', // Meta's original consolidated checkpoints (llama/model.py)
  'shared.weight', // T5 / encoder-decoder shared embedding
];

/** Output projection names, most common first. */
export const LM_HEAD_NAMES: readonly string[] = [
  'lm_head.weight', // transformers *ForCausalLM.lm_head
  'language_model.lm_head.weight', // multimodal wrappers before transformers 4.52
  'embed_out.weight', // GPT-NeoX, Pythia
  'output.weight', // InternLM2, Meta's original checkpoints
  'transformer.output_layer.weight', // ChatGLM2/3, GLM-4
];

/** Suffixes that identify the same tensors under a prefix we have not listed (nested wrappers). */
const EMBEDDING_SUFFIXES = [
  '.embed_tokens.weight',
  '.wte.weight',
  '.embed_in.weight',
  '.tok_embeddings.weight',
  '.word_embeddings.weight',
];
const LM_HEAD_SUFFIXES = ['.lm_head.weight'];

/** Towers and heads that are not the language model (their embeddings are not the token embedding). */
const NON_TEXT = /(vision|visual|audio|speech|image|encoder|mm_projector|multi_modal|mtp)/i;

function firstOf(tensors: Record<string, TensorInfo>, names: readonly string[]): TensorInfo | null {
  for (const n of names) if (tensors[n]) return tensors[n];
  return null;
}

function bySuffix(tensors: Record<string, TensorInfo>, suffixes: string[]): TensorInfo | null {
  const name = Object.keys(tensors)
    .sort()
    .find((n) => suffixes.some((s) => n.endsWith(s)) && !NON_TEXT.test(n) && tensors[n].shape.length === 2);
  return name ? tensors[name] : null;
}

/** The token embedding of a set of tensors by name (the table first, then a known suffix), or null. */
export function findEmbedding(tensors: Record<string, TensorInfo>): TensorInfo | null {
  return firstOf(tensors, EMBEDDING_NAMES) ?? bySuffix(tensors, EMBEDDING_SUFFIXES);
}

/** The stored output projection by name (whether or not config.json ties it), or null when none is stored. */
export function findLmHead(tensors: Record<string, TensorInfo>): TensorInfo | null {
  return firstOf(tensors, LM_HEAD_NAMES) ?? bySuffix(tensors, LM_HEAD_SUFFIXES);
}

export interface TokenMatrices {
  embedding: TensorInfo | null;
  /** The untied output projection; null when tied to the embedding or absent. */
  lmHead: TensorInfo | null;
  tied: boolean;
}

/**
 * Finds the embedding and lm_head tensors. lm_head counts as tied when the checkpoint has none, or when
 * config.json says `tie_word_embeddings: true` (loaders then ignore a stored lm_head and reuse the embedding).
 */
export function tokenMatrices(snap: Snapshot): TokenMatrices {
  const tensors = snap.safetensors?.tensors ?? {};
  const embedding = findEmbedding(tensors);
  const head = findLmHead(tensors);
  const tiedInConfig = jsonObject(snap, 'config.json')?.tie_word_embeddings === true;
  const tied = !head || tiedInConfig;
  return { embedding, lmHead: tied ? null : head, tied };
}
