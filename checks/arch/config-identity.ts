import {
  CLASS_HEAD_SUFFIXES,
  CLASS_STEM_ALIASES,
  EXPERT_TENSOR,
  FUSED_QKV_TENSOR,
  IDENTITY_SOURCE,
  KNOWN_MODEL_TYPES,
  LAYOUTS,
  SEPARATE_QKV_TENSOR,
} from '../data/model-identity.ts';
import { jsonObject } from '../snapshot-files.ts';
import type { Check, FindingInput, Snapshot } from '../types.ts';
import { readModelConfig, str, type ModelConfig } from './config-read.ts';
import { tableFinding } from './evidence.ts';

const INDEX = 'model.safetensors.index.json';
const NON_TEXT = /(vision|visual|audio|speech|image|encoder|mm_projector|multi_modal|mtp)/i;
const DENSE_MLP = /\.mlp\.(gate_proj|up_proj|down_proj|gate_up_proj|fc1|fc2|c_fc)\./;

const norm = (s: string): string => s.replace(/[_\-.]/g, '').toLowerCase();
const KNOWN = new Map(KNOWN_MODEL_TYPES.map((t) => [norm(t), t]));

/** The model_type a transformers class name belongs to by its stem, when the stem names a known model_type. */
export function modelTypeOfClass(cls: string): string | null {
  const suffix = CLASS_HEAD_SUFFIXES.find((s) => cls.endsWith(s) && cls.length > s.length);
  return suffix ? (KNOWN.get(norm(cls.slice(0, -suffix.length))) ?? null) : null;
}

function classMatches(modelType: string, cls: string): boolean {
  const suffix = CLASS_HEAD_SUFFIXES.find((s) => cls.endsWith(s) && cls.length > s.length);
  if (!suffix) return true;
  const stem = norm(cls.slice(0, -suffix.length));
  return stem === norm(modelType) || (CLASS_STEM_ALIASES[modelType] ?? []).includes(stem);
}

function architecturesOf(raw: Record<string, unknown>): string[] | null {
  const a = raw.architectures;
  if (!Array.isArray(a)) return null;
  return a.filter((x): x is string => typeof x === 'string');
}

function missingArchitectures(c: ModelConfig): FindingInput | null {
  const archs = architecturesOf(c.raw);
  if (archs && archs.length) return null;
  const modelType = str(c.raw, 'model_type');
  if (!modelType) return null;
  return tableFinding({
    code: 'ARCHITECTURES_MISSING',
    severity: 'warning',
    files: ['config.json'],
    title: `config.json has no architectures (model_type ${modelType})`,
    detail:
      "vLLM, TGI and other runtimes pick the model class from `architectures`; without it they refuse the checkpoint or guess. transformers' AutoModelForCausalLM still works from model_type.",
    table: [
      {
        field: 'architectures',
        value: c.raw.architectures ?? null,
        expected: 'a list of class names',
        source: IDENTITY_SOURCE,
      },
      { field: 'model_type', value: modelType, source: 'config.json' },
    ],
  });
}

/** Class names that auto_map resolves to the repo's own code: not transformers' classes, whatever their name. */
function remoteClasses(raw: Record<string, unknown>): Set<string> {
  const am = raw.auto_map;
  if (!am || typeof am !== 'object' || Array.isArray(am)) return new Set();
  const refs = Object.values(am as Record<string, unknown>).flatMap((v) => (Array.isArray(v) ? v : [v]));
  return new Set(refs.filter((v): v is string => typeof v === 'string').map((v) => v.slice(v.lastIndexOf('.') + 1)));
}

function classMismatch(c: ModelConfig): FindingInput | null {
  const modelType = str(c.raw, 'model_type');
  const remote = remoteClasses(c.raw);
  const archs = architecturesOf(c.raw) ?? [];
  if (!modelType) return null;
  const other = archs
    .filter((a) => !remote.has(a))
    .map((a) => ({ cls: a, type: modelTypeOfClass(a) }))
    .find((a) => a.type && !classMatches(modelType, a.cls));
  if (!other) return null;
  const layoutsDiffer =
    LAYOUTS[modelType] && LAYOUTS[other.type!] && LAYOUTS[modelType].mlp !== LAYOUTS[other.type!].mlp;
  return tableFinding({
    code: 'MODEL_TYPE_MISMATCH',
    severity: layoutsDiffer ? 'critical' : 'warning',
    files: ['config.json'],
    title: `model_type ${modelType} but architectures names ${other.cls} (a ${other.type} class)`,
    detail: `AutoConfig builds a ${modelType} config while runtimes that read \`architectures\` build ${other.cls}: the two disagree on which network the weights belong to${layoutsDiffer ? ' (one is a mixture of experts, the other dense)' : ''}.`,
    table: [
      { field: 'model_type', value: modelType, source: 'config.json' },
      { field: 'architectures', value: archs, expected: `a ${modelType} class`, source: IDENTITY_SOURCE },
    ],
  });
}

/**
 * A head suffix stacked on a bare-model class name (`BloomModelForCausalLM`): transformers names its heads
 * `<Family>For<Task>` / `<Family>LMHeadModel` and its bare models `<Family>Model`, never both, so no class of that
 * name exists to build (the classes listed in modeling_auto.py's mappings).
 */
const STACKED_HEAD = /.Model(For[A-Z][A-Za-z]*|LMHeadModel)$/;

function unknownClass(c: ModelConfig): FindingInput | null {
  const modelType = str(c.raw, 'model_type');
  const remote = remoteClasses(c.raw);
  const archs = architecturesOf(c.raw) ?? [];
  const bad = archs.find((a) => !remote.has(a) && STACKED_HEAD.test(a));
  if (!bad) return null;
  const bare = bad.slice(0, bad.search(/Model(For[A-Z]|LMHeadModel$)/) + 'Model'.length);
  return tableFinding({
    code: 'MODEL_TYPE_MISMATCH',
    severity: 'warning',
    files: ['config.json'],
    title: `architectures names ${bad}, a class transformers does not have`,
    detail: `Runtimes that build the class named in \`architectures\` (vLLM, TGI, pipelines) find no ${bad} and refuse the checkpoint; the name stacks a head suffix on the bare-model class ${bare}.`,
    table: [
      {
        field: 'architectures',
        value: archs,
        expected: `a ${modelType ?? 'transformers'} class`,
        source: IDENTITY_SOURCE,
      },
      ...(modelType ? [{ field: 'model_type', value: modelType, source: 'config.json' }] : []),
    ],
  });
}

/** Tensor names of the language model, from the safetensors headers and from the index (present even without shards). */
function lmTensorNames(snap: Snapshot): { names: string[]; from: string } {
  const names = new Set(Object.keys(snap.safetensors?.tensors ?? {}));
  const map = jsonObject(snap, INDEX)?.weight_map;
  if (map && typeof map === 'object' && !Array.isArray(map)) for (const n of Object.keys(map)) names.add(n);
  const from = names.size && map ? INDEX : 'safetensors headers';
  return { names: [...names].filter((n) => !NON_TEXT.test(n)), from };
}

function layoutFinding(
  c: { modelType: string; source: string; from: string },
  part: string,
  want: string,
  seen: string,
  wrong: string[],
): FindingInput {
  return tableFinding({
    code: 'MODEL_TYPE_MISMATCH',
    severity: 'critical',
    files: ['config.json', ...(c.from === INDEX ? [INDEX] : [])],
    title: `model_type ${c.modelType} loads ${want} ${part} but the weights hold ${seen} (${wrong.length} tensors)`,
    detail: `The ${c.modelType} class finds none of its ${part} weights: the checkpoint's tensors are ignored as unexpected keys and the ${part} is randomly initialised, so the model outputs noise. model_type names another family than the one the weights were saved from.`,
    table: [
      { field: 'model_type', value: c.modelType, source: c.source },
      { field: `${part} in the weights`, value: seen, expected: want, source: c.from },
      { field: 'tensor names', value: wrong.slice(0, 5), source: c.from, note: `${wrong.length} in all` },
    ],
  });
}

function layoutMismatch(c: ModelConfig, snap: Snapshot): FindingInput[] {
  const modelType = c.modelType;
  const layout = modelType ? LAYOUTS[modelType] : undefined;
  if (!modelType || !layout) return [];
  const { names, from } = lmTensorNames(snap);
  const ctx = { modelType, source: layout.source, from };
  const out: FindingInput[] = [];
  const experts = names.filter((n) => EXPERT_TENSOR.test(n));
  const dense = names.filter((n) => DENSE_MLP.test(n) && !EXPERT_TENSOR.test(n));
  if (layout.mlp === 'dense' && experts.length)
    out.push(layoutFinding(ctx, 'MLP', 'a dense', 'mixture-of-experts', experts));
  if (layout.mlp === 'experts' && dense.length && !experts.length)
    out.push(layoutFinding(ctx, 'MLP', 'a mixture-of-experts', 'dense', dense));
  const separate = names.filter((n) => SEPARATE_QKV_TENSOR.test(n));
  const fused = names.filter((n) => FUSED_QKV_TENSOR.test(n));
  if (layout.attention === 'separate' && fused.length && !separate.length)
    out.push(layoutFinding(ctx, 'attention', 'separate q/k/v', 'a fused qkv_proj', fused));
  if (layout.attention === 'fused' && separate.length && !fused.length)
    out.push(layoutFinding(ctx, 'attention', 'a fused qkv_proj', 'separate q/k/v', separate));
  return out;
}

/**
 * MODEL_TYPE_MISMATCH / ARCHITECTURES_MISSING: config.json's model_type against the classes in `architectures`
 * (and those classes against transformers' naming), and against the tensor names of the weights or of model.safetensors.index.json (expert tensors under a dense
 * model_type, none under a mixture of experts).
 */
export const configIdentity: Check = {
  id: 'config-identity',
  title: 'model_type, architectures and tensor names name the same model',
  queue: 'checks',
  codes: ['MODEL_TYPE_MISMATCH', 'ARCHITECTURES_MISSING'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    const c = r.config;
    const findings = [missingArchitectures(c), classMismatch(c), unknownClass(c)].filter(
      (f): f is FindingInput => f !== null,
    );
    findings.push(...layoutMismatch(c, release));
    return { status: 'findings', findings };
  },
};
