import { sensitivityOf, type Sensitivity } from '../data/config-keys.ts';
import type { SafetensorsInventory } from '../types.ts';
import { modelConfigOf, variantOf, type Json } from './config-read.ts';

/** One changed config key between two revisions (or a release and its base). */
export interface ConfigChange {
  key: string;
  ours: unknown;
  theirs: unknown;
  sensitivity: Sensitivity;
  /** Which side matches the family's reference value, when family data knows the key. */
  reference?: 'ours' | 'theirs' | 'neither';
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON with sorted object keys, so that key order never counts as a change. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v ?? null);
}

/**
 * Undoes cosmetic re-save differences between transformers versions: `dtype` ↔ `torch_dtype`, and a flat
 * `rope_parameters` (v5) ↔ `rope_theta` + `rope_scaling` (v4).
 */
export function normalizeConfig(raw: Json): Json {
  const c: Json = { ...raw };
  if (c.dtype !== undefined && c.torch_dtype === undefined) {
    c.torch_dtype = c.dtype;
    delete c.dtype;
  }
  const rp = c.rope_parameters;
  if (isObj(rp) && !Object.values(rp).every(isObj)) {
    const { rope_theta: theta, ...rest } = rp;
    if (theta !== undefined && c.rope_theta === undefined) c.rope_theta = theta;
    const type = rest.rope_type ?? rest.type;
    c.rope_scaling = type === 'default' && Object.keys(rest).length === 1 ? null : rest;
    delete c.rope_parameters;
  }
  if (c.rope_scaling === undefined) c.rope_scaling = null;
  return c;
}

/** Flattens nested `*_config` objects one level (`text_config.hidden_act`); other objects compare whole. */
function flatten(raw: Json): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(normalizeConfig(raw))) {
    if (k.endsWith('_config') && k !== 'quantization_config' && isObj(v)) {
      for (const [k2, v2] of Object.entries(normalizeConfig(v))) out.set(`${k}.${k2}`, v2);
    } else out.set(k, v);
  }
  return out;
}

/** Whether a value agrees with the family's reference for `key` (null when family data does not cover it). */
function agreesWithReference(raw: Json, key: string, value: unknown): boolean | null {
  const c = modelConfigOf(raw);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  const fam = c.family;
  if (!fam) return null;
  if (fam.activationKeys.includes(leaf) || leaf === 'hidden_act')
    return typeof value === 'string' ? fam.activations.value.includes(value) : null;
  if (fam.normEps && leaf === fam.normEps.key)
    return typeof value === 'number' ? fam.normEps.value.includes(value) : null;
  if (fam.softcaps && leaf in fam.softcaps.value) return value === fam.softcaps.value[leaf];
  const want = variantOf(c)?.expect[leaf];
  return want === undefined ? null : value === want;
}

/** Config keys that differ between `ours` and `theirs`, with their sensitivity; ignored keys left out. */
export function diffConfigs(ours: Json, theirs: Json): ConfigChange[] {
  const a = flatten(ours);
  const b = flatten(theirs);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: ConfigChange[] = [];
  for (const key of keys) {
    const sensitivity = sensitivityOf(key);
    if (sensitivity === 'ignored' || canonical(a.get(key)) === canonical(b.get(key))) continue;
    const mine = agreesWithReference(ours, key, a.get(key));
    const other = agreesWithReference(theirs, key, b.get(key));
    const reference = mine === null && other === null ? undefined : mine ? 'ours' : other ? 'theirs' : 'neither';
    out.push({ key, ours: a.get(key), theirs: b.get(key), sensitivity, ...(reference ? { reference } : {}) });
  }
  return out;
}

export interface TensorDiff {
  added: string[];
  removed: string[];
  reshaped: { name: string; ours: number[]; theirs: number[] }[];
  retyped: { name: string; ours: string; theirs: string }[];
}

/** Tensors added, removed, reshaped or stored in another dtype between two inventories. */
export function diffTensors(ours: SafetensorsInventory, theirs: SafetensorsInventory): TensorDiff {
  const diff: TensorDiff = { added: [], removed: [], reshaped: [], retyped: [] };
  for (const [name, t] of Object.entries(ours.tensors)) {
    const o = theirs.tensors[name];
    if (!o) diff.added.push(name);
    else {
      if (t.shape.join('x') !== o.shape.join('x')) diff.reshaped.push({ name, ours: t.shape, theirs: o.shape });
      if (t.dtype !== o.dtype) diff.retyped.push({ name, ours: t.dtype, theirs: o.dtype });
    }
  }
  diff.removed = Object.keys(theirs.tensors).filter((n) => !(n in ours.tensors));
  for (const k of ['added', 'removed'] as const) diff[k].sort();
  return diff;
}

/** Embedding and LM-head row counts change when a fine-tune adds tokens: expected, not structural. */
export function isVocabResize(r: TensorDiff['reshaped'][number]): boolean {
  return (
    /(embed_tokens|lm_head|wte|word_embeddings)\.weight$/.test(r.name) &&
    r.ours.length === 2 &&
    r.ours[1] === r.theirs[1]
  );
}
