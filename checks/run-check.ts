import { createCheckMemo } from './memo.ts';
import type { Check, CheckContext, CheckRunResult, Finding, Severity, Verdict } from './types.ts';

/** A check context whose memo may be left out: the check then runs on a memo of its own. */
export type CheckInput = Omit<CheckContext, 'memo'> & { memo?: CheckContext['memo'] };

/**
 * Runs one check and turns whatever happens into a CheckRunResult: a thrown error becomes status `error`
 * (never a silent pass), and a check that returns `findings` with an empty list counts as `passed`.
 */
export async function runCheck(check: Check, input: CheckInput): Promise<CheckRunResult> {
  const ctx: CheckContext = { ...input, memo: input.memo ?? createCheckMemo() };
  const started = performance.now();
  const done = (r: Omit<CheckRunResult, 'check' | 'durationMs'>): CheckRunResult => ({
    check: check.id,
    durationMs: Math.round(performance.now() - started),
    ...r,
  });
  try {
    const outcome = await check.run(ctx);
    switch (outcome.status) {
      case 'passed':
        return done({ status: 'passed', findings: [], ...(outcome.evidence ? { evidence: outcome.evidence } : {}) });
      case 'skipped':
        return done({ status: 'skipped', reason: outcome.reason, findings: [] });
      case 'error':
        return done({ status: 'error', error: outcome.error, findings: [] });
      case 'findings': {
        // Each file once, in first-mention order, whatever a check assembled.
        const findings: Finding[] = outcome.findings.map((f) => ({
          ...f,
          files: [...new Set(f.files)],
          check: check.id,
        }));
        return done({ status: findings.length ? 'findings' : 'passed', findings });
      }
    }
  } catch (e) {
    return done({ status: 'error', error: e instanceof Error ? e.message : String(e), findings: [] });
  }
}

const rank: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

/** What a release's verdict is decided from. */
export interface ReleaseOutcome {
  /** Severities of its findings (muted ones left out by the caller). */
  severities: Iterable<Severity>;
  /** How many of its checks could not run; a release whose files could not be read at all counts one. */
  errors: number;
}

/**
 * The release verdict, decided here only (check workers, the CLI, mutes, failed releases): `critical` or
 * `warning` from the worst finding severity, else `error` when a check could not run, else `ok`.
 * Takes the outcome as stored in Postgres, or the check runs of a scan.
 */
export function verdictOf(outcome: ReleaseOutcome | Pick<CheckRunResult, 'status' | 'findings'>[]): Verdict {
  const o: ReleaseOutcome = Array.isArray(outcome)
    ? {
        severities: outcome.flatMap((r) => r.findings.map((f) => f.severity)),
        errors: outcome.filter((r) => r.status === 'error').length,
      }
    : outcome;
  let worst = 0;
  for (const s of o.severities) worst = Math.max(worst, rank[s]);
  if (worst === 3) return 'critical';
  if (worst === 2) return 'warning';
  return o.errors > 0 ? 'error' : 'ok';
}
