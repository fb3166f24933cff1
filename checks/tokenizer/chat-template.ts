/**
 * CHAT_TEMPLATE_ERROR: the chat template must parse and render the canned conversations within the time limit.
 * A template that raises breaks apply_chat_template and every chat server; one that never ends hangs them.
 */
import type { Check, FindingInput, Severity } from '../types.ts';
import type { ScenarioName } from './chat-scenarios.ts';
import { chatRenders } from './template-render.ts';
import type { ChatRenders } from './template-render.ts';

/** Jinja2's built-in filters (jinja2.filters.FILTERS): an unknown one of these is the renderer's gap, not the template's. */
const JINJA2_FILTERS = new Set(
  (
    'abs attr batch capitalize center count d default dictsort e escape filesizeformat first float forceescape format ' +
    'groupby indent int items join last length list lower map max min pprint random reject rejectattr replace reverse ' +
    'round safe select selectattr slice sort string striptags sum title tojson trim truncate unique upper urlencode ' +
    'urlize wordcount wordwrap xmlattr'
  ).split(' '),
);

/**
 * The Jinja2 feature @huggingface/jinja lacks that a failure message shows (dependency notes §6), or null when the
 * failure is the template's own. Python runtimes render such templates, so they are skipped, never an error.
 */
export function missingFeature(message: string): string | null {
  if (/^Unknown operator "%" between StringValue/.test(message)) return 'Python %-formatting of strings';
  if (/^Unknown operator "\*" between StringValue and IntegerValue/.test(message))
    return 'string repetition (str * int)';
  if (/^Expected iterable or object type in for loop: got StringValue/.test(message)) return 'for-loops over a string';
  const filter = /^Unknown \w+ filter: (\w+)/.exec(message)?.[1];
  return filter && JINJA2_FILTERS.has(filter) ? `the ${filter} filter on this value type` : null;
}

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
  return {
    code: 'CHAT_TEMPLATE_ERROR',
    severity,
    title,
    detail: message,
    evidence: { templateFile: r.file, message, ...extra, template: templateHead(r.template) },
    files: [r.file],
  };
}

/** The skip for a template whose only failures are features the renderer lacks. */
function renderGap(features: Set<string>): { status: 'skipped'; reason: string } {
  return {
    status: 'skipped',
    reason: `the renderer (@huggingface/jinja) lacks ${[...features].join(', ')}, which Python's Jinja2 (transformers) renders`,
  };
}

/** A template that renders nothing for a basic conversation gives the model an empty prompt: never a silent ok. */
function emptyRender(r: ChatRenders): FindingInput | null {
  const empty = r.scenarios.filter((s) => {
    const res = r.run.results.get(s.name);
    return res?.ok === true && res.text.trim() === '' && SCENARIO_SEVERITY[s.name] === 'critical';
  });
  if (!empty.length) return null;
  const what = empty.map((s) => s.describe).join('; ');
  return errorFinding(
    r,
    `the template renders an empty prompt for ${what}`,
    'critical',
    { stage: 'render', empty: true, scenarios: empty.map((s) => ({ scenario: s.name, conversation: s.describe })) },
    `${r.file}: the chat template renders nothing for ${what}`,
  );
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
    const peGap = pe && !pe.timedOut ? missingFeature(pe.message) : null;
    if (peGap) return renderGap(new Set([peGap]));
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
    const gaps = new Set<string>();
    for (const s of r.scenarios) {
      const res = r.run.results.get(s.name);
      if (!res || res.ok) continue;
      const gap = res.timedOut ? null : missingFeature(res.message);
      if (gap) {
        gaps.add(gap);
        continue;
      }
      // A template may refuse a system message (Gemma raises); the plain conversation must work.
      const severity = res.timedOut ? 'critical' : SCENARIO_SEVERITY[s.name];
      if (!severity) continue;
      const f = failures.get(res.message) ?? { severity, timedOut: res.timedOut === true, scenarios: [] };
      if (severity === 'critical') f.severity = 'critical';
      f.scenarios.push({ scenario: s.name, conversation: s.describe, messages: s.context.messages });
      failures.set(res.message, f);
    }
    const empty = emptyRender(r);
    if (failures.size === 0 && gaps.size > 0 && !empty) return renderGap(gaps);
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
    if (empty) findings.push(empty);
    return { status: 'findings', findings };
  },
};
