import { familyOf, type FamilyEntry, type ReferenceVariant } from '../data/families.ts';
import { readJson } from '../snapshot-files.ts';
import type { Snapshot } from '../types.ts';

export type Json = Record<string, unknown>;

/** config.json of a release, with the language model's hyper-parameters found and the family looked up. */
export interface ModelConfig {
  raw: Json;
  /** The language model's keys: `text_config` / `llm_config` of a multimodal config, else the config itself. */
  text: Json;
  /** Key path prefix of `text` inside config.json ('' or e.g. 'text_config.'), for evidence. */
  prefix: string;
  modelType: string | null;
  family: FamilyEntry | null;
}

const NESTED_TEXT_KEYS = ['text_config', 'llm_config', 'language_config'];

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses an already-read config object (also used on family and base configs). */
export function modelConfigOf(raw: Json): ModelConfig {
  const nestedKey = NESTED_TEXT_KEYS.find((k) => isObject(raw[k]));
  const text = nestedKey ? (raw[nestedKey] as Json) : raw;
  const modelType = str(text, 'model_type') ?? str(raw, 'model_type');
  return { raw, text, prefix: nestedKey ? `${nestedKey}.` : '', modelType, family: familyOf(modelType) };
}

/** config.json of a snapshot, or the reason it cannot be used (the check then reports `skipped`). */
export function readModelConfig(snap: Snapshot): { config: ModelConfig } | { skip: string } {
  const r = readJson(snap, 'config.json');
  if (r.state === 'absent') return { skip: 'no config.json in the release' };
  if (r.state === 'omitted') return { skip: `config.json was not read: ${r.reason}` };
  if (r.state === 'malformed') return { skip: `config.json is malformed (reported by files-wellformed): ${r.error}` };
  if (!isObject(r.value)) return { skip: 'config.json is not a JSON object' };
  return { config: modelConfigOf(r.value) };
}

/** A key's value from the text config; when absent, the family's config class default (with where it came from). */
export function valueOf(c: ModelConfig, key: string): { value: unknown; from: 'config' | 'default' | 'absent' } {
  if (key in c.text) return { value: c.text[key], from: 'config' };
  if (c.text !== c.raw && key in c.raw) return { value: c.raw[key], from: 'config' };
  const defaults = c.family?.defaults.value;
  if (defaults && key in defaults) return { value: defaults[key], from: 'default' };
  return { value: undefined, from: 'absent' };
}

export function str(o: Json, key: string): string | null {
  const v = o[key];
  return typeof v === 'string' ? v : null;
}

export function num(o: Json, key: string): number | null {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A number from the text config or the family default. */
export function numOf(c: ModelConfig, key: string): number | null {
  const v = valueOf(c, key).value;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The key path shown in evidence (`text_config.hidden_act` for a nested text config). */
export function keyPath(c: ModelConfig, key: string): string {
  return key in c.text ? `${c.prefix}${key}` : key;
}

/**
 * The attention head size the reference uses: explicit `head_dim`, else hidden_size / num_attention_heads
 * (null when neither gives an integer).
 */
export function headDimOf(c: ModelConfig): number | null {
  const explicit = numOf(c, 'head_dim');
  if (explicit !== null) return explicit;
  const hidden = numOf(c, 'hidden_size');
  const heads = numOf(c, 'num_attention_heads');
  return hidden !== null && heads ? (Number.isInteger(hidden / heads) ? hidden / heads : null) : null;
}

/** The reference variant of the family whose sizes this config has, if any. */
export function variantOf(c: ModelConfig): ReferenceVariant | null {
  for (const v of c.family?.variants ?? []) {
    if (Object.entries(v.match).every(([k, want]) => numOf(c, k) === want)) return v;
  }
  return null;
}

/** A short, stable rendering of a config value for titles. */
export function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
