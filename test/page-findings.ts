/**
 * Findings for the page tests: built by the real finding builders where they are pure (untrained tokens with
 * row-norm profiles) and in the shapes the checks write otherwise (config tables, template excerpts, the base-model
 * fingerprint), plus hostile strings for the escaping tests.
 */
import type { Finding, RowStats } from '../checks/types.ts';
import { normProfile } from '../checks/weights/norm-profile.ts';
import { untrainedFindings } from '../checks/weights/untrained-findings.ts';

export const EVIL_SCRIPT = '<script>window.__pwned=1</script>';
export const EVIL_IMG = '<img src=x onerror="window.__pwned=2">';

/** A deterministic row-stats table: trained rows with norms around 0.9, rows in `zero` all zeros. */
function rowStats(tensor: string, rows: number, zero: Set<number>, seed: number): RowStats {
  const norm = new Float32Array(rows);
  // A noisy band around 0.9 that drifts slowly, like real embedding norms; a fixed LCG keeps it reproducible.
  let x = seed * 7919;
  for (let i = 0; i < rows; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    norm[i] = zero.has(i) ? 0 : 0.9 + 0.1 * Math.sin(i / 600) + 0.16 * (x / 2147483648 - 0.5);
  }
  return {
    tensor,
    file: 'model.safetensors',
    dtype: 'BF16',
    rows,
    cols: 64,
    max: norm.map((n) => n / 4),
    absMax: norm.map((n) => n / 4),
    norm,
    mean: new Float32Array(rows),
    roundedHash: new Uint32Array(rows * 2),
    nonFinite: [],
  };
}

/** UNTRAINED_* findings (with profiles) as the untrained-tokens check builds them. */
export function untrainedEvidence(tokens: (id: number) => string | null, tensorName = 'model.embed_tokens.weight') {
  const rows = 4096;
  const untrained = [3, ...Array.from({ length: 96 }, (_, i) => 4000 + i)];
  const zero = new Set(untrained);
  const embedding = rowStats(tensorName, rows, zero, 1);
  const lmHead = rowStats('lm_head.weight', rows, zero, 2);
  const reasons = new Map(
    untrained.map((id) => [id, { embedding: ['near-zero-norm' as const], lmHead: ['near-zero-norm' as const] }]),
  );
  return untrainedFindings({
    embedding,
    lmHead,
    vocab: { size: rows, token: tokens, added: new Set(untrained) },
    used: new Map([[3, ['eos_token_id', 'chat template']]]),
    untrained: { rows: untrained, reasons, medianNorm: { embedding: 0.9, lmHead: 0.9 }, compared: rows },
    profiles: [normProfile(embedding, 0.9, 0.009), normProfile(lmHead, 0.9, 0.009)],
  }).map((f): Finding => ({ ...f, check: 'untrained-tokens' }));
}

/** LOW_RANK_DELTA in the shape checks/weights/base-fingerprint-findings.ts writes (a merged rank-8 LoRA). */
export function lowRankDelta(): Finding {
  const tensors = [0, 1].flatMap((layer) =>
    ['self_attn.q_proj', 'self_attn.v_proj', 'mlp.down_proj'].map((module) => {
      const lora = module !== 'mlp.down_proj';
      return {
        tensor: `model.layers.${layer}.${module}.weight`,
        layer,
        module,
        status: lora ? 'low-rank' : 'unchanged',
        rank: lora ? 8 : 0,
        relativeDiff: lora ? 0.031 + 0.004 * layer : 0,
        cosine: 1,
        singularValues: [],
        rowsCompared: 64,
        commonRows: 64,
      };
    }),
  );
  return {
    code: 'LOW_RANK_DELTA',
    severity: 'info',
    check: 'base-fingerprint',
    title: 'Merged LoRA of rank ≈ 8 on self_attn.q_proj, self_attn.v_proj',
    detail: 'Against acme/tiny-llama3-base, 4 of 6 changed by an update of rank ≈ 8; the other 2 are unchanged.',
    evidence: { base: 'acme/tiny-llama3-base', backend: 'cpu', tensors, rank: 8 },
    files: ['model.safetensors'],
  };
}

export const llamaToken = (id: number): string | null =>
  id === 3 ? '<|eot_id|>' : id >= 4000 ? `<|reserved_special_token_${id - 4000}|>` : `tok${id}`;

export const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_act: 'silu',
  hidden_size: 64,
  num_hidden_layers: 2,
  rope_theta: 500000,
  vocab_size: 4096,
};

const F = (f: Omit<Finding, 'files'> & { files?: string[] }): Finding => ({ files: ['config.json'], ...f });

/** CONFIG_CHANGED with its table, as config-changed writes it. */
export function configChanged(): Finding {
  return F({
    code: 'CONFIG_CHANGED',
    severity: 'warning',
    check: 'config-vs-weights',
    title: 'rope_theta and hidden_act changed since the previous revision',
    detail: 'Two keys the weights were trained with changed. Re-convert copies made from the earlier revision.',
    evidence: {
      table: [
        { field: 'rope_theta', value: 10000, previous: 500000, source: 'previous revision', note: 'high sensitivity' },
        {
          field: 'hidden_act',
          value: 'gelu',
          previous: 'silu',
          source: 'previous revision',
          note: 'critical sensitivity',
        },
      ],
    },
  });
}

/** EOS_MISMATCH with the template and the rendered excerpt, as eos-vs-template writes it. */
export function eosMismatch(): Finding {
  return F({
    code: 'EOS_MISMATCH',
    severity: 'critical',
    check: 'eos-vs-template',
    title: 'Assistant turns end with <|eot_id|> (128009), which is not an EOS token',
    detail:
      'Generation never stops at the end of a turn. Set eos_token_id in generation_config.json to include 128009.',
    evidence: {
      terminator: { token: '<|eot_id|>', id: 128009 },
      eosIds: [128001],
      template:
        "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>{% endfor %}",
      renderedExcerpt: '<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>',
    },
    files: ['tokenizer_config.json', 'generation_config.json'],
  });
}

/** A finding whose title, detail, table and template carry markup. */
export function hostileFinding(): Finding {
  return F({
    code: 'ACT_MISMATCH',
    severity: 'warning',
    check: 'config-vs-weights',
    title: `hidden_act is ${EVIL_IMG}`,
    detail: `model_type ${EVIL_SCRIPT} is unknown.`,
    evidence: {
      table: [{ field: 'hidden_act', value: EVIL_IMG, expected: EVIL_SCRIPT, source: EVIL_SCRIPT }],
      template: EVIL_SCRIPT,
    },
  });
}

/** Token strings that are markup. */
export const evilToken = (id: number): string | null => (id === 3 ? EVIL_SCRIPT : id >= 4000 ? EVIL_IMG : `tok${id}`);
