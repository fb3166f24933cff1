import type { SafetensorsInventory, Snapshot, TensorInfo } from '../types.ts';

/**
 * Builds in-memory Snapshots for the architecture checks' tests: a config, optional tensor records (no data),
 * other small files. Pure; used only by tests.
 */
export function snapshotOf(o: {
  config?: Record<string, unknown> | string | null;
  tensors?: TensorInfo[] | null;
  texts?: Record<string, string>;
  extraFiles?: { path: string; size: number }[];
  cardData?: Record<string, unknown> | null;
  repo?: string;
  sha?: string;
}): Snapshot {
  const texts: Record<string, string> = { ...(o.texts ?? {}) };
  if (o.config !== undefined && o.config !== null)
    texts['config.json'] = typeof o.config === 'string' ? o.config : JSON.stringify(o.config);
  const files = Object.entries(texts).map(([path, t]) => ({ path, size: t.length }));
  let safetensors: SafetensorsInventory | null = null;
  if (o.tensors) {
    const byFile = [...new Set(o.tensors.map((t) => t.file))];
    safetensors = {
      index: byFile.length > 1 ? 'model.safetensors.index.json' : null,
      files: byFile.map((path) => ({ path, size: 1, headerLength: 8, metadata: null })),
      tensors: Object.fromEntries(o.tensors.map((t) => [t.name, t])),
      errors: [],
    };
    for (const path of byFile) files.push({ path, size: 1 });
  }
  files.push(...(o.extraFiles ?? []));
  return {
    repo: o.repo ?? 'test/model',
    sha: o.sha ?? 'a'.repeat(40),
    files,
    texts,
    binaries: {},
    omitted: {},
    safetensors,
    cardData: o.cardData ?? null,
  };
}

export interface LlamaDims {
  hidden: number;
  heads: number;
  kv: number;
  headDim: number;
  inter: number;
  vocab: number;
  layers: number;
}

/**
 * Tensor records of a Llama-style decoder (`model.layers.N.self_attn.q_proj.weight`, ...), split over `shards`
 * files the way a sharded checkpoint is. `mlp: 'plain'` leaves out gate_proj (Nemotron style).
 */
export function llamaTensors(
  d: LlamaDims,
  opts: { lmHead?: boolean; mlp?: 'gated' | 'plain'; dtype?: string; shards?: number; prefix?: string } = {},
): TensorInfo[] {
  const dtype = opts.dtype ?? 'BF16';
  const shards = opts.shards ?? 1;
  const prefix = opts.prefix ?? 'model.';
  const root = prefix.split('.').slice(0, -2).join('.');
  const fileOf = (layer: number): string =>
    shards === 1
      ? 'model.safetensors'
      : `model-${String(1 + (layer % shards)).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
  const out: TensorInfo[] = [];
  const add = (name: string, shape: number[], file: string): void => {
    out.push({ name, dtype, shape, file, dataOffsets: [0, 0] });
  };
  add(`${prefix}embed_tokens.weight`, [d.vocab, d.hidden], fileOf(0));
  add(`${prefix}norm.weight`, [d.hidden], fileOf(d.layers - 1));
  if (opts.lmHead ?? true) add(`${root ? `${root}.` : ''}lm_head.weight`, [d.vocab, d.hidden], fileOf(d.layers - 1));
  for (let l = 0; l < d.layers; l++) {
    const p = `${prefix}layers.${l}.`;
    const f = fileOf(l);
    add(`${p}self_attn.q_proj.weight`, [d.heads * d.headDim, d.hidden], f);
    add(`${p}self_attn.k_proj.weight`, [d.kv * d.headDim, d.hidden], f);
    add(`${p}self_attn.v_proj.weight`, [d.kv * d.headDim, d.hidden], f);
    add(`${p}self_attn.o_proj.weight`, [d.hidden, d.heads * d.headDim], f);
    if ((opts.mlp ?? 'gated') === 'gated') add(`${p}mlp.gate_proj.weight`, [d.inter, d.hidden], f);
    add(`${p}mlp.up_proj.weight`, [d.inter, d.hidden], f);
    add(`${p}mlp.down_proj.weight`, [d.hidden, d.inter], f);
    add(`${p}input_layernorm.weight`, [d.hidden], f);
    add(`${p}post_attention_layernorm.weight`, [d.hidden], f);
  }
  return out;
}

/** The dims of a config, for llamaTensors (head_dim explicit or derived). */
export function dimsOfConfig(c: Record<string, unknown>): LlamaDims {
  const n = (k: string): number => c[k] as number;
  return {
    hidden: n('hidden_size'),
    heads: n('num_attention_heads'),
    kv: (c.num_key_value_heads as number | undefined) ?? n('num_attention_heads'),
    headDim: (c.head_dim as number | undefined) ?? n('hidden_size') / n('num_attention_heads'),
    inter: n('intermediate_size'),
    vocab: n('vocab_size'),
    layers: n('num_hidden_layers'),
  };
}
