/**
 * Releases for the page tests, stored through the same repo functions the pipeline uses. Findings are built by the
 * real finding builders where they are pure (untrained tokens with row-norm profiles) and in the shapes the checks
 * write otherwise (config tables, template excerpts). Times are fixed so screenshots are stable.
 */
import type { Finding, RowStats, Verdict } from '../checks/types.ts';
import { normProfile } from '../checks/weights/norm-profile.ts';
import { untrainedFindings } from '../checks/weights/untrained-findings.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { finishRelease, markChecking, upsertRelease } from '../lib/releases.repo.ts';
import { saveSnapshot } from '../lib/snapshots.repo.ts';

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
function lowRankDelta(): Finding {
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

const llamaToken = (id: number): string | null =>
  id === 3 ? '<|eot_id|>' : id >= 4000 ? `<|reserved_special_token_${id - 4000}|>` : `tok${id}`;

const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_act: 'silu',
  hidden_size: 64,
  num_hidden_layers: 2,
  rope_theta: 500000,
  vocab_size: 4096,
};

export interface SeedRelease {
  repo: string;
  sha: string;
  config: Record<string, unknown> | null;
  fingerprint: string | null;
  /** Check id → findings (empty: passed). Checks listed in `running` stay unfinished. */
  checks: Record<string, Finding[]>;
  running?: string[];
  verdict: Verdict | null;
  at: string;
}

/** Stores a release with its snapshot, check runs and findings; finished unless some checks are `running`. */
export async function seedRelease(pool: Pool, s: SeedRelease, previousId: number | null): Promise<number> {
  const { release } = await upsertRelease(pool, s.repo, s.sha, 'webhook');
  const texts: Record<string, string> = s.config ? { 'config.json': JSON.stringify(s.config) } : {};
  const snap = {
    repo: s.repo,
    sha: s.sha,
    files: [],
    texts,
    binaries: {},
    omitted: {},
    safetensors: null,
    cardData: null,
  };
  const snapshotId = await saveSnapshot(pool, snap, s.fingerprint);
  await markChecking(pool, release.id, snapshotId, previousId, null);
  const ids = [...Object.keys(s.checks), ...(s.running ?? [])];
  const runs = await createCheckRuns(
    pool,
    release.id,
    ids.map((id) => ({ id, queue: id === 'untrained-tokens' ? 'tensor' : 'checks' })),
  );
  await withTransaction(pool, async (c) => {
    for (const run of runs) {
      const findings = s.checks[run.checkId];
      if (!findings) continue;
      await storeResult(c, run, {
        check: run.checkId,
        status: findings.length ? 'findings' : run.checkId === 'fast-vs-slow' ? 'skipped' : 'passed',
        ...(run.checkId === 'fast-vs-slow' ? { reason: 'no tokenizer.model or slow vocabulary files' } : {}),
        findings,
        durationMs: 40 + run.id,
      });
    }
    await c.query('UPDATE releases SET received_at = $2 WHERE id = $1', [release.id, s.at]);
    if (s.verdict) {
      await finishRelease(c, release.id, s.verdict);
      await c.query("UPDATE releases SET finished_at = $2::timestamptz + interval '42 seconds' WHERE id = $1", [
        release.id,
        s.at,
      ]);
    }
  });
  return release.id;
}

const F = (f: Omit<Finding, 'files'> & { files?: string[] }): Finding => ({ files: ['config.json'], ...f });

/** The pages' cast: a model that regressed, one being checked, one with hostile strings, one clean. */
export async function seedPages(pool: Pool): Promise<{ critical: string[]; pending: string; evil: string }> {
  const repo = 'acme/tiny-llama3-instruct';
  const first = await seedRelease(
    pool,
    {
      repo,
      sha: 'a1'.repeat(20),
      config: CONFIG,
      fingerprint: 'f0'.repeat(32),
      checks: { 'config-vs-weights': [], 'eos-vs-template': [], 'fast-vs-slow': [] },
      verdict: 'ok',
      at: '2026-11-20T09:00:00Z',
    },
    null,
  );
  await seedRelease(
    pool,
    {
      repo,
      sha: 'b2'.repeat(20),
      config: { ...CONFIG, hidden_act: 'gelu', rope_theta: 10000 },
      fingerprint: 'e1'.repeat(32),
      checks: {
        'config-vs-weights': [
          F({
            code: 'CONFIG_CHANGED',
            severity: 'warning',
            check: 'config-vs-weights',
            title: 'rope_theta and hidden_act changed since the previous revision',
            detail: 'Two keys the weights were trained with changed. Re-convert copies made from the earlier revision.',
            evidence: {
              table: [
                {
                  field: 'rope_theta',
                  value: 10000,
                  previous: 500000,
                  source: 'previous revision',
                  note: 'high sensitivity',
                },
                {
                  field: 'hidden_act',
                  value: 'gelu',
                  previous: 'silu',
                  source: 'previous revision',
                  note: 'critical sensitivity',
                },
              ],
            },
          }),
        ],
        'eos-vs-template': [
          F({
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
          }),
        ],
        'untrained-tokens': untrainedEvidence(llamaToken),
        'base-fingerprint': [lowRankDelta()],
        'fast-vs-slow': [],
      },
      verdict: 'critical',
      at: '2026-11-28T14:30:00Z',
    },
    first,
  );
  const pending = 'c3'.repeat(20);
  await seedRelease(
    pool,
    {
      repo: 'acme/still-checking',
      sha: pending,
      config: CONFIG,
      fingerprint: null,
      checks: { 'config-vs-weights': [] },
      running: ['eos-vs-template', 'untrained-tokens'],
      verdict: null,
      at: '2026-11-30T08:00:00Z',
    },
    null,
  );
  const evilTok = (id: number): string | null => (id === 3 ? EVIL_SCRIPT : id >= 4000 ? EVIL_IMG : `tok${id}`);
  const evil = 'd4'.repeat(20);
  await seedRelease(
    pool,
    {
      repo: 'mallory/hostile-strings',
      sha: evil,
      config: { ...CONFIG, model_type: EVIL_SCRIPT, hidden_act: EVIL_IMG },
      fingerprint: '00'.repeat(32),
      checks: {
        'config-vs-weights': [
          F({
            code: 'ACT_MISMATCH',
            severity: 'warning',
            check: 'config-vs-weights',
            title: `hidden_act is ${EVIL_IMG}`,
            detail: `model_type ${EVIL_SCRIPT} is unknown.`,
            evidence: {
              table: [{ field: 'hidden_act', value: EVIL_IMG, expected: EVIL_SCRIPT, source: EVIL_SCRIPT }],
              template: EVIL_SCRIPT,
            },
          }),
        ],
        'untrained-tokens': untrainedEvidence(evilTok, `embed${EVIL_IMG}`),
      },
      verdict: 'critical',
      at: '2026-11-29T12:00:00Z',
    },
    null,
  );
  await seedRelease(
    pool,
    {
      repo: 'other-org/clean-model',
      sha: 'e5'.repeat(20),
      config: CONFIG,
      fingerprint: 'ab'.repeat(32),
      checks: { 'config-vs-weights': [], 'eos-vs-template': [] },
      verdict: 'ok',
      at: '2026-11-25T10:00:00Z',
    },
    null,
  );
  return { critical: ['a1'.repeat(20), 'b2'.repeat(20)], pending, evil };
}
