import type { SafetensorsInventory, TensorInfo } from '../types.ts';
import { findEmbedding, findLmHead } from '../weights/tensor-names.ts';

/**
 * The language model's tensors found by name in a safetensors inventory (sharded or not): the decoder layers,
 * the embedding and the LM head. Vision / audio towers of multimodal releases are left out.
 */
export interface TextLayout {
  /** Name prefix of the decoder layers, e.g. `model.` or `language_model.model.`. */
  prefix: string;
  /** Layer index → (name inside the layer, e.g. `self_attn.q_proj.weight`) → tensor. */
  layers: Map<number, Map<string, TensorInfo>>;
  embed: TensorInfo | null;
  lmHead: TensorInfo | null;
}

const LAYER_RE = /^(.*?)(?:layers|h|blocks)\.(\d+)\.(.+)$/;
const NON_TEXT = /(vision|visual|audio|speech|image|encoder|mm_projector|multi_modal|mtp)/i;

/** Floating-point dtypes whose shapes are the logical shapes (packed quantized integer weights are not). */
export const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2']);

function pickLayerPrefix(tensors: TensorInfo[]): string | null {
  const score = new Map<string, number>();
  for (const t of tensors) {
    const m = LAYER_RE.exec(t.name);
    if (!m || NON_TEXT.test(m[1])) continue;
    const attn = /(q_proj|qkv_proj|query_key_value|c_attn|wqkv)\b/.test(m[3]) ? 10 : 1;
    score.set(m[1], (score.get(m[1]) ?? 0) + attn);
  }
  let best: string | null = null;
  for (const [p, s] of score) if (best === null || s > (score.get(best) ?? 0)) best = p;
  return best;
}

/** Finds the text model in an inventory; null when no decoder layers are recognised by name. */
export function textLayout(inv: SafetensorsInventory): TextLayout | null {
  const tensors = Object.values(inv.tensors);
  const prefix = pickLayerPrefix(tensors);
  if (prefix === null) return null;
  const layers = new Map<number, Map<string, TensorInfo>>();
  for (const t of tensors) {
    const m = LAYER_RE.exec(t.name);
    if (!m || m[1] !== prefix) continue;
    const i = Number(m[2]);
    if (!layers.has(i)) layers.set(i, new Map());
    layers.get(i)!.set(m[3], t);
  }
  // One locator for every check (checks/weights/tensor-names.ts): InternLM2's output.weight is an lm_head too.
  return { prefix, layers, embed: findEmbedding(inv.tensors), lmHead: findLmHead(inv.tensors) };
}

export type MlpKind = 'gated' | 'plain' | 'unknown';

/**
 * Whether the MLP tensors are gated (gate_proj / fused gate_up_proj / Mixtral w1+w3) or plain (up_proj and
 * down_proj only). A router (`mlp.gate.weight`) is not a gate projection.
 */
export function mlpKind(layout: TextLayout): MlpKind {
  let gated = false;
  let plain = false;
  for (const names of layout.layers.values()) {
    const keys = [...names.keys()];
    const hasGate = keys.some((k) => /(^|\.)(gate_proj|gate_up_proj|w1|w3)(\.|$)/.test(k));
    const hasUp = keys.some((k) => /(^|\.)up_proj(\.|$)/.test(k));
    const hasDown = keys.some((k) => /(^|\.)(down_proj|w2)(\.|$)/.test(k));
    if (hasGate) gated = true;
    else if (hasUp && hasDown) plain = true;
  }
  if (gated && !plain) return 'gated';
  if (plain && !gated) return 'plain';
  return 'unknown';
}

/** Parameter count per dtype over all tensors (for the stored dtype). */
export function paramsByDtype(inv: SafetensorsInventory): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of Object.values(inv.tensors)) {
    out.set(t.dtype, (out.get(t.dtype) ?? 0) + t.shape.reduce((a, b) => a * b, 1));
  }
  return out;
}
