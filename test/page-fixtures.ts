/**
 * Releases for the page tests, stored through the same repo functions the pipeline uses (findings from
 * page-findings.ts). Times are fixed so screenshots are stable.
 */
import type { Finding, Verdict } from '../checks/types.ts';
import { createCheckRuns, storeResult } from '../lib/check-runs.repo.ts';
import { withTransaction } from '../lib/db.ts';
import type { Pool } from '../lib/db.ts';
import { finishRelease, markChecking, upsertRelease } from '../lib/releases.repo.ts';
import { saveSnapshot } from '../lib/snapshots.repo.ts';
import {
  CONFIG,
  EVIL_IMG,
  EVIL_SCRIPT,
  configChanged,
  eosMismatch,
  evilToken,
  hostileFinding,
  llamaToken,
  lowRankDelta,
  untrainedEvidence,
} from './page-findings.ts';

export { EVIL_IMG, EVIL_SCRIPT };

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

/** The pages' cast: a model that regressed, one being checked, one with hostile strings, one clean. */
export async function seedPages(pool: Pool): Promise<{ critical: string[]; pending: string; evil: string }> {
  const repo = 'acme/tiny-llama3-instruct';
  const [ok, critical, pending, evil] = ['a1', 'b2', 'c3', 'd4'].map((x) => x.repeat(20));
  const clean = { 'config-vs-weights': [], 'eos-vs-template': [] };
  const first = await seedRelease(
    pool,
    {
      repo,
      sha: ok,
      config: CONFIG,
      fingerprint: 'f0'.repeat(32),
      checks: { ...clean, 'fast-vs-slow': [] },
      verdict: 'ok',
      at: '2026-11-20T09:00:00Z',
    },
    null,
  );
  const regressed: Record<string, Finding[]> = {
    'config-vs-weights': [configChanged()],
    'eos-vs-template': [eosMismatch()],
    'untrained-tokens': untrainedEvidence(llamaToken),
    'base-fingerprint': [lowRankDelta()],
    'fast-vs-slow': [],
  };
  const config = { ...CONFIG, hidden_act: 'gelu', rope_theta: 10000 };
  await seedRelease(
    pool,
    {
      repo,
      sha: critical,
      config,
      fingerprint: 'e1'.repeat(32),
      checks: regressed,
      verdict: 'critical',
      at: '2026-11-28T14:30:00Z',
    },
    first,
  );
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
  const hostile = {
    'config-vs-weights': [hostileFinding()],
    'untrained-tokens': untrainedEvidence(evilToken, `embed${EVIL_IMG}`),
  };
  const evilConfig = { ...CONFIG, model_type: EVIL_SCRIPT, hidden_act: EVIL_IMG };
  await seedRelease(
    pool,
    {
      repo: 'mallory/hostile-strings',
      sha: evil,
      config: evilConfig,
      fingerprint: '00'.repeat(32),
      checks: hostile,
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
      checks: clean,
      verdict: 'ok',
      at: '2026-11-25T10:00:00Z',
    },
    null,
  );
  return { critical: [ok, critical], pending, evil };
}
