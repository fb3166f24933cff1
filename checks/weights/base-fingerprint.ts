/**
 * WEIGHTS_IDENTICAL_TO_BASE / LOW_RANK_DELTA / WEIGHTS_NOT_FROM_BASE: compares a sample of the release's tensors
 * with the declared base model's (first, middle and last decoder layers, all their 2-D projections, and the
 * token embedding and lm_head) through the context's base tensor provider, which reads rows of both by ranged
 * reads and computes the norms and leading singular values of ΔW on the compute backend. The spectrum tells a
 * re-upload, a merged LoRA and a real fine-tune apart, and shows when the weights are not from the base at all.
 */
import type {
  BaseTensorProvider,
  Check,
  CheckOutcome,
  FindingInput,
  Snapshot,
  TensorDelta,
  TensorInfo,
} from '../types.ts';
import { fingerprintEvidence, fingerprintFindings } from './base-fingerprint-findings.ts';
import { isMalformedTensorError, isUnsupportedTensorError } from './tensor-errors.ts';
import { findEmbedding, findLmHead } from './tensor-names.ts';

/** Decoder-layer tensors: `<prefix>.layers.<i>.<module path>` (Llama, Mistral, Qwen, Gemma, Phi) or GPT-2's `h.<i>`. */
const LAYER_TENSOR = /(?:^|\.)(?:layers|h|blocks)\.(\d+)\.(.+)$/;
/** Towers that are not the language model. */
const NON_TEXT = /(vision|visual|audio|speech|image|encoder|mm_projector|multi_modal|mtp)/i;

/** One tensor of the sample, matched by name in the base. */
export interface SampledPair {
  release: TensorInfo;
  base: TensorInfo;
  /** Decoder layer index, or null for the embedding and lm_head. */
  layer: number | null;
  /** Short module name (`q_proj`, `embed_tokens`). */
  module: string;
}

function moduleOf(name: string): string {
  const parts = name.replace(/\.weight$/, '').split('.');
  return parts[parts.length - 1];
}

/** The layers sampled by default: first, middle and last of those present. */
export function defaultLayers(present: number[]): number[] {
  if (present.length === 0) return [];
  const sorted = [...new Set(present)].sort((a, b) => a - b);
  return [...new Set([sorted[0], sorted[Math.floor(sorted.length / 2)], sorted[sorted.length - 1]])];
}

/** The tensors to compare: 2-D weights of the sampled layers and the token matrices present in both. */
export function samplePairs(release: Snapshot, base: Snapshot, layers: number[] | null): SampledPair[] {
  const rt = release.safetensors?.tensors ?? {};
  const bt = base.safetensors?.tensors ?? {};
  const inLayers = Object.values(rt)
    .filter((t) => t.shape.length === 2 && t.name.endsWith('.weight') && !NON_TEXT.test(t.name))
    .map((t) => ({ t, m: LAYER_TENSOR.exec(t.name) }))
    .filter((x): x is { t: TensorInfo; m: RegExpExecArray } => x.m !== null);
  const wanted = new Set(layers ?? defaultLayers(inLayers.map((x) => Number(x.m[1]))));
  const pairs: SampledPair[] = [];
  const embedding = findEmbedding(rt);
  const baseEmbedding = embedding ? (bt[embedding.name] ?? findEmbedding(bt)) : null;
  if (embedding && baseEmbedding)
    pairs.push({ release: embedding, base: baseEmbedding, layer: null, module: moduleOf(embedding.name) });
  for (const { t, m } of inLayers.sort((a, b) => Number(a.m[1]) - Number(b.m[1]) || a.t.name.localeCompare(b.t.name)))
    if (wanted.has(Number(m[1])) && bt[t.name]?.shape.length === 2)
      pairs.push({ release: t, base: bt[t.name], layer: Number(m[1]), module: moduleOf(t.name) });
  const head = findLmHead(rt);
  const baseHead = head ? (bt[head.name] ?? findLmHead(bt)) : null;
  if (head && baseHead) pairs.push({ release: head, base: baseHead, layer: null, module: moduleOf(head.name) });
  return pairs;
}

type Compared = { pair: SampledPair; delta: TensorDelta };

async function compareAll(
  provider: BaseTensorProvider,
  pairs: SampledPair[],
  signal?: AbortSignal,
): Promise<{ compared: Compared[]; skipped: { tensor: string; reason: string }[] }> {
  const compared: Compared[] = [];
  const skipped: { tensor: string; reason: string }[] = [];
  for (const pair of pairs) {
    try {
      compared.push({ pair, delta: await provider.delta(pair.release, pair.base, { signal }) });
    } catch (e) {
      if (!isUnsupportedTensorError(e) && !isMalformedTensorError(e)) throw e;
      skipped.push({ tensor: pair.release.name, reason: e.message });
    }
  }
  return { compared, skipped };
}

/**
 * Decides whether a release's weights come from the base model its card declares, and how: identical sampled
 * tensors (WEIGHTS_IDENTICAL_TO_BASE, warning), a difference concentrated in a few singular values in some modules
 * (LOW_RANK_DELTA, info: a merged LoRA, with rank per module), or a relative difference near √2 with a flat spectrum
 * (WEIGHTS_NOT_FROM_BASE, warning). Reads the safetensors headers of both snapshots and, through
 * `ctx.baseTensors`, sampled rows of both; skipped without a base, its weights, or a reader for them.
 */
export const baseFingerprint: Check = {
  id: 'base-fingerprint',
  title: 'The weights are derived from the declared base model (and how)',
  queue: 'tensor',
  codes: ['WEIGHTS_IDENTICAL_TO_BASE', 'LOW_RANK_DELTA', 'WEIGHTS_NOT_FROM_BASE'],
  async run({ release, base, baseTensors, signal }): Promise<CheckOutcome> {
    if (!base) return { status: 'skipped', reason: 'no base model declared, or its snapshot is not available' };
    if (!baseTensors) return { status: 'skipped', reason: 'base model weights are not read here' };
    if (!release.safetensors || !base.safetensors)
      return { status: 'skipped', reason: `no safetensors weights in the ${release.safetensors ? 'base' : 'release'}` };
    const pairs = samplePairs(release, base, baseTensors.layers);
    if (pairs.length === 0)
      return { status: 'skipped', reason: 'no 2-D tensor of the release has a same-named tensor in the base' };
    const { compared, skipped } = await compareAll(baseTensors, pairs, signal);
    if (compared.length === 0)
      return { status: 'skipped', reason: `no tensor could be compared: ${skipped.map((s) => s.reason).join('; ')}` };
    const evidence = fingerprintEvidence(release, base, baseTensors, compared, skipped);
    const findings: FindingInput[] = fingerprintFindings(release, base, compared, evidence);
    // An ordinary fine-tune gets no finding; what was measured is still kept (the release page draws it).
    return findings.length ? { status: 'findings', findings } : { status: 'passed', evidence };
  },
};
