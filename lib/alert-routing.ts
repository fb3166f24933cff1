/** Which alert targets hear about a finished release: the rules' minimum severity and first-ok wish. */
import type { Severity, Verdict } from '../checks/types.ts';

const LEVEL: Record<Verdict, number> = { critical: 3, warning: 2, error: 2, ok: 0 };
const MIN: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

export interface RouteRule {
  minSeverity: Severity;
  announceFirstOk: boolean;
}

/**
 * Whether a target gets the alert for a release whose verdict is `verdict` after `previous` (null: the model's first
 * release). A model's first release that is ok is announced only to rules that ask for it (never to the
 * deployment-wide URL, which has no rule). Otherwise a rule hears a change when the new verdict, or the one it
 * recovers from, reaches its minimum severity: a critical-only rule hears "critical" and "ok (was critical)".
 */
export function routesTo(rule: RouteRule | undefined, verdict: Verdict, previous: Verdict | null): boolean {
  if (previous === null && verdict === 'ok') return rule?.announceFirstOk ?? false;
  if (!rule) return true;
  const min = MIN[rule.minSeverity];
  return LEVEL[verdict] >= min || (previous !== null && LEVEL[previous] >= min);
}
