import type { Check, CheckContext, CheckRunResult, Finding, Severity, Verdict } from './types.ts';

/**
 * Runs one check and turns whatever happens into a CheckRunResult: a thrown error becomes status `error`
 * (never a silent pass), and a check that returns `findings` with an empty list counts as `passed`.
 */
export async function runCheck(check: Check, ctx: CheckContext): Promise<CheckRunResult> {
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
        return done({ status: 'passed', findings: [] });
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

/**
 * The release verdict: `critical` or `warning` from the worst finding severity, else `error` when a check
 * could not run, else `ok`.
 */
export function verdictFrom(severities: Iterable<Severity>, anyError: boolean): Verdict {
  let worst = 0;
  for (const s of severities) worst = Math.max(worst, rank[s]);
  if (worst === 3) return 'critical';
  if (worst === 2) return 'warning';
  return anyError ? 'error' : 'ok';
}

/** The verdict of a set of check runs (see verdictFrom). */
export function verdictOf(runs: Pick<CheckRunResult, 'status' | 'findings'>[]): Verdict {
  return verdictFrom(
    runs.flatMap((r) => r.findings.map((f) => f.severity)),
    runs.some((r) => r.status === 'error'),
  );
}
