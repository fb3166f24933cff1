/**
 * The release's chat template rendered for the canned conversations, once per run (every template check
 * reads the same renders), plus helpers to look at what the template put around the messages.
 */
import type { CheckContext, Rendered, TemplateRun } from '../types.ts';
import { chatScenarios } from './chat-scenarios.ts';
import type { Scenario, ScenarioName } from './chat-scenarios.ts';
import { chatTemplate } from './special-tokens.ts';

export interface ChatRenders {
  file: string;
  template: string;
  scenarios: Scenario[];
  run: TemplateRun;
}

/**
 * The release's chat template rendered for every scenario, once per run through the context's renderer; a
 * string is the reason there is nothing to look at (no template, or no renderer in this context). Rejects only
 * when the renderer cannot start at all.
 */
export function chatRenders(
  ctx: Pick<CheckContext, 'release' | 'memo' | 'renderTemplate'>,
): Promise<ChatRenders | string> {
  const snap = ctx.release;
  return ctx.memo.once(snap, 'template:renders', async (): Promise<ChatRenders | string> => {
    const tpl = chatTemplate(snap);
    if (!tpl) return 'no chat template';
    if (!ctx.renderTemplate) return 'no template renderer in this context';
    const scenarios = chatScenarios(snap, tpl.template);
    const run = await ctx.renderTemplate(
      tpl.template,
      scenarios.map((s) => ({ name: s.name, context: s.context })),
    );
    return { ...tpl, scenarios, run };
  });
}

/** The rendered text of a scenario, or null when it failed or was not rendered. */
export function renderedText(r: ChatRenders, name: ScenarioName): string | null {
  const x: Rendered | undefined = r.run.results.get(name);
  return x?.ok ? x.text : null;
}

/** The first scenario of `names` that rendered, with its text. */
export function firstRendered(r: ChatRenders, names: ScenarioName[]): { name: ScenarioName; text: string } | null {
  for (const name of names) {
    const text = renderedText(r, name);
    if (text !== null) return { name, text };
  }
  return null;
}

/** Why a template check cannot look at renders, or null when at least one conversation rendered. */
export function unrenderable(r: ChatRenders): string | null {
  if (r.run.parseError)
    return `the chat template does not parse (${r.run.parseError.message}); see the chat-template check`;
  if (!firstRendered(r, ['system', 'plain', 'multi', 'prompt']))
    return 'the chat template does not render any conversation; see the chat-template check';
  return null;
}

/** Special tokens (leftmost-longest) occurring in a piece of rendered text, in order. */
export function specialTokensIn(
  text: string,
  tokens: Map<string, number>,
): { token: string; id: number; at: number }[] {
  // Candidates by first character, longest first: tokenizers with thousands of added tokens (Gemma) stay fast.
  const byFirst = new Map<string, string[]>();
  for (const c of [...tokens.keys()].filter((k) => k.length > 1).sort((a, b) => b.length - a.length)) {
    const list = byFirst.get(c[0]);
    if (list) list.push(c);
    else byFirst.set(c[0], [c]);
  }
  const out: { token: string; id: number; at: number }[] = [];
  for (let i = 0; i < text.length;) {
    const hit = byFirst.get(text[i])?.find((c) => text.startsWith(c, i));
    if (hit) {
      out.push({ token: hit, id: tokens.get(hit)!, at: i });
      i += hit.length;
    } else i++;
  }
  return out;
}

/** A window of rendered text around [from, to), for evidence; long enough to see the turn structure. */
export function excerpt(text: string, from: number, to: number, pad = 80): string {
  const a = Math.max(0, from - pad);
  const b = Math.min(text.length, to + pad);
  return `${a > 0 ? '…' : ''}${text.slice(a, b)}${b < text.length ? '…' : ''}`;
}
