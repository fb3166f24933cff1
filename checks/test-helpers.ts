/** Helpers shared by the checks' own tests; pure like the checks (their tests import nothing from lib/). */
import type { CheckRunResult } from './types.ts';

/** A run's findings as sorted `severity:CODE` strings, the form the checks' tests compare. */
export const codes = (r: CheckRunResult): string[] => r.findings.map((f) => `${f.severity}:${f.code}`).sort();
