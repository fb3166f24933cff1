import { MODEL_MAX_LENGTH_SENTINEL } from '../data/config-keys.ts';
import { ROPE_SCHEMA_SOURCE, ROPE_TYPE_ALIASES } from '../data/rope-schemas.ts';
import { jsonObject } from '../snapshot-files.ts';
import type { Check, Snapshot } from '../types.ts';
import { keyPath, num, numOf, readModelConfig, variantOf, type Json, type ModelConfig } from './config-read.ts';
import { tableFinding, type EvidenceRow } from './evidence.ts';

/**
 * The keys that hold the context length: transformers maps `max_position_embeddings` onto `n_positions` (GPT2Config,
 * GPTJConfig attribute_map) and `max_seq_len` (MptConfig attribute_map).
 */
const POSITION_KEYS = ['max_position_embeddings', 'n_positions', 'max_seq_len'];

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function ropeRows(c: ModelConfig, maxPos: number): EvidenceRow[] {
  const rs = isObj(c.text.rope_scaling)
    ? c.text.rope_scaling
    : isObj(c.text.rope_parameters)
      ? c.text.rope_parameters
      : null;
  if (!rs) return [];
  const rawType = (rs.rope_type ?? rs.type) as unknown;
  const type = typeof rawType === 'string' ? (ROPE_TYPE_ALIASES[rawType] ?? rawType) : null;
  const orig =
    num(rs, 'original_max_position_embeddings') ??
    (type === 'longrope' ? num(c.text, 'original_max_position_embeddings') : null);
  const factor = num(rs, 'factor');
  const field = keyPath(c, 'max_position_embeddings');
  if ((type === 'llama3' || type === 'longrope') && orig !== null && orig >= maxPos) {
    return [
      {
        field,
        value: maxPos,
        expected: `> original_max_position_embeddings (${orig})`,
        source: `${ROPE_SCHEMA_SOURCE} (${type}: the scaled range is never used)`,
      },
    ];
  }
  if (type === 'yarn' && orig !== null && factor !== null && maxPos / orig !== factor) {
    return [
      {
        field,
        value: maxPos,
        expected: orig * factor,
        source: `${ROPE_SCHEMA_SOURCE} (yarn: max_position_embeddings / original_max_position_embeddings should equal factor ${factor})`,
      },
    ];
  }
  return [];
}

function tokenizerRows(snap: Snapshot, maxPos: number, key: string): EvidenceRow[] {
  const tc = jsonObject(snap, 'tokenizer_config.json');
  const mml = tc ? num(tc, 'model_max_length') : null;
  if (mml === null || mml >= MODEL_MAX_LENGTH_SENTINEL || mml <= maxPos) return [];
  return [
    {
      field: 'tokenizer_config.json model_max_length',
      value: mml,
      expected: `≤ ${key} (${maxPos})`,
      source: `config.json ${key}`,
    },
  ];
}

/**
 * A generation length saved with the release (config.json or generation_config.json `max_length`, the total of prompt
 * and generated tokens `generate()` runs to by default) past max_position_embeddings: one of the two is wrong, and
 * generation runs into positions the model declares it does not have. Not when RoPE scaling stretches the range.
 */
function generationLengthRows(snap: Snapshot, c: ModelConfig, maxPos: number, key: string): EvidenceRow[] {
  if (c.text.rope_scaling) return [];
  const rows: EvidenceRow[] = [];
  for (const [field, o] of [
    [`config.json ${keyPath(c, 'max_length')}`, c.text],
    ['generation_config.json max_length', jsonObject(snap, 'generation_config.json')],
  ] as const) {
    const len = o ? num(o, 'max_length') : null;
    if (len === null || len <= maxPos) continue;
    rows.push({
      field,
      value: len,
      expected: `≤ ${key} (${maxPos})`,
      source: `config.json ${key}`,
    });
  }
  return rows;
}

function variantRows(c: ModelConfig, maxPos: number): EvidenceRow[] {
  const v = variantOf(c);
  const want = v?.expect.max_position_embeddings;
  if (want === undefined || want === maxPos || c.text.rope_scaling) return [];
  return [{ field: keyPath(c, 'max_position_embeddings'), value: maxPos, expected: want, source: v!.source }];
}

/**
 * MAX_POS_MISMATCH: max_position_embeddings against the RoPE scaling it goes with, the tokenizer's
 * model_max_length, the generation length saved with the release, and the family's reference size.
 */
export const maxPositions: Check = {
  id: 'max-positions',
  title: 'Maximum positions are consistent',
  queue: 'checks',
  codes: ['MAX_POS_MISMATCH'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    const c = r.config;
    const key = POSITION_KEYS.find((k) => numOf(c, k) !== null);
    const maxPos = key ? numOf(c, key) : null;
    if (key === undefined || maxPos === null)
      return { status: 'skipped', reason: 'config.json has no max_position_embeddings' };
    const rows = [
      ...ropeRows(c, maxPos),
      ...variantRows(c, maxPos),
      ...tokenizerRows(release, maxPos, key),
      ...generationLengthRows(release, c, maxPos, key),
    ];
    if (!rows.length) return { status: 'passed' };
    const files = [
      'config.json',
      ...(rows.some((x) => x.field.startsWith('tokenizer_config')) ? ['tokenizer_config.json'] : []),
      ...(rows.some((x) => x.field.startsWith('generation_config')) ? ['generation_config.json'] : []),
    ];
    return {
      status: 'findings',
      findings: [
        tableFinding({
          code: 'MAX_POS_MISMATCH',
          severity: 'warning',
          files,
          title: `Context length inconsistent: ${rows[0].field} is ${rows[0].value}, expected ${rows[0].expected}${rows.length > 1 ? ` (+${rows.length - 1} more)` : ''}`,
          detail:
            'Runtimes size their context, RoPE tables and KV cache from these values; when they disagree, long inputs are truncated, rejected, or run past the positions the model was trained on.',
          table: rows,
        }),
      ],
    };
  },
};
