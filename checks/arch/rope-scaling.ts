import { ROPE_SCHEMAS, ROPE_SCHEMA_SOURCE, ROPE_TYPE_ALIASES } from '../data/rope-schemas.ts';
import type { Check, FindingInput, Severity } from '../types.ts';
import { headDimOf, numOf, readModelConfig, show, type Json, type ModelConfig } from './config-read.ts';
import { tableFinding, worst, type EvidenceRow } from './evidence.ts';

interface Problem {
  severity: Severity;
  row: EvidenceRow;
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The RoPE parameter blocks of a config: `rope_scaling` (v4), or `rope_parameters` (v5, possibly per layer type). */
function ropeBlocks(c: ModelConfig): { field: string; params: Json; v5: boolean }[] {
  const pre = c.prefix;
  if (isObj(c.text.rope_parameters)) {
    const rp = c.text.rope_parameters;
    const perLayer = Object.values(rp).length > 0 && Object.values(rp).every(isObj);
    if (perLayer)
      return Object.entries(rp).map(([k, v]) => ({ field: `${pre}rope_parameters.${k}`, params: v as Json, v5: true }));
    return [{ field: `${pre}rope_parameters`, params: rp, v5: true }];
  }
  if (isObj(c.text.rope_scaling)) return [{ field: `${pre}rope_scaling`, params: c.text.rope_scaling, v5: false }];
  return [];
}

function typeProblems(field: string, p: Json, v5: boolean): { type: string | null; problems: Problem[] } {
  const problems: Problem[] = [];
  const rt = typeof p.rope_type === 'string' ? p.rope_type : null;
  const legacy = typeof p.type === 'string' ? p.type : null;
  const raw = rt ?? legacy ?? (v5 ? 'default' : null);
  if (raw === null) {
    problems.push({
      severity: 'critical',
      row: {
        field: `${field}.rope_type`,
        value: null,
        expected: Object.keys(ROPE_SCHEMAS),
        source: ROPE_SCHEMA_SOURCE,
        note: 'neither rope_type nor type: the reference finds no RoPE init function',
      },
    });
    return { type: null, problems };
  }
  if (rt && legacy && ROPE_TYPE_ALIASES[legacy] !== rt && legacy !== rt) {
    problems.push({
      severity: 'warning',
      row: {
        field: `${field}.type`,
        value: legacy,
        expected: rt,
        source: ROPE_SCHEMA_SOURCE,
        note: 'rope_type and legacy type disagree; readers pick different ones',
      },
    });
  } else if (!rt && legacy) {
    problems.push({
      severity: 'info',
      row: {
        field: `${field}.type`,
        value: legacy,
        expected: `rope_type: ${ROPE_TYPE_ALIASES[legacy] ?? legacy}`,
        source: ROPE_SCHEMA_SOURCE,
        note: 'legacy key: the reference maps it, readers keyed on rope_type ignore the scaling',
      },
    });
  }
  const type = ROPE_TYPE_ALIASES[raw] ?? raw;
  if (!ROPE_SCHEMAS[type]) {
    problems.push({
      severity: 'warning',
      row: {
        field: `${field}.rope_type`,
        value: raw,
        expected: Object.keys(ROPE_SCHEMAS),
        source: ROPE_SCHEMA_SOURCE,
        note: 'no validation or init function for this type in the reference',
      },
    });
  }
  return { type, problems };
}

function factorList(field: string, p: Json, key: string, want: number | null): Problem[] {
  const v = p[key];
  if (v === undefined) return [];
  const ok = Array.isArray(v) && v.every((x) => typeof x === 'number');
  if (!ok)
    return [
      {
        severity: 'critical',
        row: { field: `${field}.${key}`, value: show(v), expected: 'a list of numbers', source: ROPE_SCHEMA_SOURCE },
      },
    ];
  if (want !== null && (v as number[]).length !== want) {
    return [
      {
        severity: 'critical',
        row: {
          field: `${field}.${key}`,
          value: `list of ${(v as number[]).length}`,
          expected: `list of ${want} (rotary dim / 2)`,
          source: `${ROPE_SCHEMA_SOURCE}: len == int(head_dim × partial_rotary_factor) // 2; Phi-4-mini "must have length 64, got 48", huggingface.co/unsloth/Phi-4-mini-instruct/discussions/1`,
        },
      },
    ];
  }
  return [];
}

function schemaProblems(c: ModelConfig, field: string, p: Json, type: string): Problem[] {
  const schema = ROPE_SCHEMAS[type];
  if (!schema) return [];
  const problems: Problem[] = [];
  for (const k of schema.required.filter((k) => p[k] === undefined || p[k] === null)) {
    problems.push({
      severity: 'critical',
      row: {
        field: `${field}.${k}`,
        value: null,
        expected: `required for rope_type ${type}`,
        source: `${ROPE_SCHEMA_SOURCE}: missing required keys raise KeyError at load`,
      },
    });
  }
  const known = new Set([...schema.required, ...schema.optional, 'rope_type', 'type']);
  for (const k of Object.keys(p).filter((k) => !known.has(k))) {
    problems.push({
      severity: 'info',
      row: {
        field: `${field}.${k}`,
        value: show(p[k]),
        expected: 'not a key of this rope_type',
        source: `${ROPE_SCHEMA_SOURCE}: unrecognized keys are ignored`,
      },
    });
  }
  const factor = p.factor;
  if (typeof factor === 'number' && factor < 1) {
    problems.push({
      severity: 'warning',
      row: { field: `${field}.factor`, value: factor, expected: '≥ 1', source: ROPE_SCHEMA_SOURCE },
    });
  }
  if (type === 'longrope') {
    const hd = headDimOf(c);
    const prf = numOf(c, 'partial_rotary_factor') ?? 1;
    const want = hd === null ? null : Math.floor(Math.floor(hd * prf) / 2);
    problems.push(...factorList(field, p, 'short_factor', want), ...factorList(field, p, 'long_factor', want));
  }
  const lo = p.low_freq_factor;
  const hi = p.high_freq_factor;
  if (type === 'llama3' && typeof lo === 'number' && typeof hi === 'number' && hi <= lo) {
    problems.push({
      severity: 'warning',
      row: {
        field: `${field}.high_freq_factor`,
        value: hi,
        expected: `> low_freq_factor (${lo})`,
        source: ROPE_SCHEMA_SOURCE,
      },
    });
  }
  const bf = p.beta_fast;
  const bs = p.beta_slow;
  if (type === 'yarn' && typeof bf === 'number' && typeof bs === 'number' && bf < bs) {
    problems.push({
      severity: 'warning',
      row: { field: `${field}.beta_fast`, value: bf, expected: `> beta_slow (${bs})`, source: ROPE_SCHEMA_SOURCE },
    });
  }
  return problems;
}

/**
 * ROPE_SCALING: `rope_scaling` / `rope_parameters` against the reference schema per rope_type (required and known
 * keys, legacy `type`, factor lists as long as the rotary dimension / 2, ordered frequency factors).
 */
export const ropeScaling: Check = {
  id: 'rope-scaling',
  title: 'RoPE scaling is well-formed',
  queue: 'checks',
  codes: ['ROPE_SCALING'],
  run({ release }) {
    const r = readModelConfig(release);
    if ('skip' in r) return { status: 'skipped', reason: r.skip };
    const c = r.config;
    const blocks = ropeBlocks(c);
    if (!blocks.length) return { status: 'passed' };
    const problems = blocks.flatMap(({ field, params, v5 }) => {
      const t = typeProblems(field, params, v5);
      return [...t.problems, ...(t.type ? schemaProblems(c, field, params, t.type) : [])];
    });
    if (!problems.length) return { status: 'passed' };
    const severity = worst(problems.map((p) => p.severity));
    const lead = problems.find((p) => p.severity === severity)!;
    const finding: FindingInput = tableFinding({
      code: 'ROPE_SCALING',
      severity,
      files: ['config.json'],
      title: `RoPE scaling: ${lead.row.field} ${lead.row.note ?? `is ${show(lead.row.value)}, expected ${show(lead.row.expected)}`}`,
      detail:
        severity === 'critical'
          ? 'The reference fails to load this RoPE configuration, or computes frequencies of the wrong length; long-context behaviour is broken.'
          : 'Readers disagree on this RoPE configuration; some ignore the scaling and degrade past the original context.',
      table: problems.map((p) => ({ ...p.row, note: [p.severity, p.row.note].filter(Boolean).join(': ') })),
    });
    return { status: 'findings', findings: [finding] };
  },
};
