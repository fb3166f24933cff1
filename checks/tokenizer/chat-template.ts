/**
 * CHAT_TEMPLATE_ERROR: the chat template must parse and render the canned conversations within the time limit.
 * A template that raises breaks apply_chat_template and every chat server; one that never ends hangs them.
 */
import type { Check, FindingInput, Severity } from '../types.ts';
import type { ScenarioName } from './chat-scenarios.ts';
import { chatRenders } from './template-render.ts';
import type { ChatRenders } from './template-render.ts';

/**
 * Messages of syntax that Python's Jinja2 renders but @huggingface/jinja does not (dependency notes §6: `%`
 * formatting, the `format` filter, `for` over a string). JavaScript runtimes cannot use such a template; Python
 * ones can, so these are warnings, not critical.
 */
const ENGINE_LIMITS = [
  /^Unknown operator "%"/,
  /^Unknown \w+ filter: format\b/,
  /^Expected iterable or object type in for loop: got StringValue/,
];

/** How bad a failure of each scenario is: the basic conversations must work; tools and two-turn endings may be refused on purpose. */
const SCENARIO_SEVERITY: Record<ScenarioName, Severity | null> = {
  system: null,
  plain: 'critical',
  prompt: 'critical',
  open: 'warning',
  multi: 'warning',
  tools: 'warning',
};

const templateHead = (t: string): string => (t.length > 400 ? `${t.slice(0, 400)}…` : t);

function errorFinding(
  r: ChatRenders,
  message: string,
  severity: Severity,
  extra: Record<string, unknown>,
  title: string,
): FindingInput {
  const engineLimit = ENGINE_LIMITS.some((re) => re.test(message));
  return {
    code: 'CHAT_TEMPLATE_ERROR',
    severity: engineLimit && severity === 'critical' ? 'warning' : severity,
    title,
    detail: engineLimit
      ? `${message}. @huggingface/jinja (transformers.js and other JavaScript runtimes) does not support this syntax; Python's Jinja2 may render it.`
      : message,
    evidence: { templateFile: r.file, message, engineLimit, ...extra, template: templateHead(r.template) },
    files: [r.file],
  };
}

/**
 * Decides whether the release's chat template (tokenizer_config.json, chat_template.jinja or chat_template.json)
 * parses and renders the canned conversations in time. Emits CHAT_TEMPLATE_ERROR; a feature the renderer lacks
 * is a skip naming the feature, not a finding.
 */
export const chatTemplateRenders: Check = {
  id: 'chat-template',
  title: 'Chat template parses and renders canned conversations',
  queue: 'checks',
  codes: ['CHAT_TEMPLATE_ERROR'],
  async run(ctx) {
    const r = await chatRenders(ctx);
    if (typeof r === 'string') return { status: 'skipped', reason: r };
    const pe = r.run.parseError;
    if (pe) {
      const title = pe.timedOut
        ? `${r.file}: the chat template did not parse within ${r.run.limitMs} ms`
        : `${r.file}: the chat template does not parse`;
      return {
        status: 'findings',
        findings: [errorFinding(r, pe.message, 'critical', { stage: 'parse', timedOut: pe.timedOut === true }, title)],
      };
    }
    const failures = new Map<
      string,
      {
        severity: Severity;
        timedOut: boolean;
        scenarios: { scenario: string; conversation: string; messages: unknown }[];
      }
    >();
    for (const s of r.scenarios) {
      const res = r.run.results.get(s.name);
      if (!res || res.ok) continue;
      // A template may refuse a system message (Gemma raises); the plain conversation must work.
      const severity = res.timedOut ? 'critical' : SCENARIO_SEVERITY[s.name];
      if (!severity) continue;
      const f = failures.get(res.message) ?? { severity, timedOut: res.timedOut === true, scenarios: [] };
      if (severity === 'critical') f.severity = 'critical';
      f.scenarios.push({ scenario: s.name, conversation: s.describe, messages: s.context.messages });
      failures.set(res.message, f);
    }
    const notAttempted = r.scenarios.filter((s) => !r.run.results.has(s.name)).map((s) => s.name);
    const findings = [...failures].map(([message, f]) => {
      const what = f.scenarios.map((x) => x.conversation).join('; ');
      const title = f.timedOut
        ? `${r.file}: rendering did not end within ${r.run.limitMs} ms (${what})`
        : `${r.file}: the chat template raises for ${what}`;
      return errorFinding(
        r,
        message,
        f.severity,
        {
          stage: 'render',
          timedOut: f.timedOut,
          scenarios: f.scenarios,
          ...(notAttempted.length ? { notAttempted } : {}),
        },
        title,
      );
    });
    return { status: 'findings', findings };
  },
};
