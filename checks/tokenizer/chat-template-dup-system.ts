/**
 * CHAT_TEMPLATE_DUP_SYSTEM: a system message the user supplies must reach the model once, and instead of any default
 * system prompt, not next to it. A template that renders messages[0] in a system block and again in the message
 * loop, or that writes its default system turn before the user's, gives the model two instructions, the default
 * one possibly contradicting the user's (transformers chat templating docs: system messages).
 */
import type { Check, FindingInput } from '../types.ts';
import { MARK } from './chat-scenarios.ts';
import { chatRenders, excerpt, renderedText, unrenderable } from './template-render.ts';
import type { ChatRenders } from './template-render.ts';

/** Markup between turns: special tokens such as <|im_end|>, <start_of_turn>, [INST], <｜User｜>. */
const MARKUP =
  /<\|[^<>|]{1,40}\|>|<[A-Za-z_][\w-]{0,30}>|<\/[A-Za-z_][\w-]{0,30}>|\[\/?[A-Z_]{2,20}\]|<｜[^<>｜]{1,30}｜>/g;

/** Runs of prose (at least four words) a template writes, e.g. a default system prompt. */
function proseRuns(text: string): string[] {
  return text
    .split(MARKUP)
    .flatMap((part) => part.split('\n'))
    .map((s) => s.trim())
    .filter((s) => s.length >= 20 && (s.match(/[A-Za-z]{2,}/g)?.length ?? 0) >= 4);
}

function finding(r: ChatRenders, title: string, detail: string, evidence: Record<string, unknown>): FindingInput {
  return {
    code: 'CHAT_TEMPLATE_DUP_SYSTEM',
    severity: 'warning',
    title,
    detail,
    evidence: { templateFile: r.file, ...evidence },
    files: [r.file],
  };
}

/** The role a piece of text sits in: the header text between the markup before it, e.g. "system" or "developer # Instructions". */
function roleAt(text: string, at: number): string {
  const marks = [...text.slice(0, at).matchAll(MARKUP)];
  const from = marks.length >= 2 ? marks[marks.length - 2].index : (marks[0]?.index ?? 0);
  return text.slice(from, at).replace(MARKUP, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * A default system prompt (prose the template writes when no system message is given) written in another turn of
 * the same role as the user's system message. Formats that route the user's system message to another role by
 * design (harmony's developer message next to its fixed system message) are not duplicates.
 */
function defaultNextToUsers(plain: string, sys: string): { prose: string; between: string; role: string } | null {
  const sysPrefix = sys.slice(0, sys.indexOf(MARK.user1));
  const at = sysPrefix.indexOf(MARK.sys);
  for (const prose of proseRuns(plain.slice(0, plain.indexOf(MARK.user1)))) {
    const p = sysPrefix.indexOf(prose);
    if (p < 0) continue;
    const between = p < at ? sysPrefix.slice(p + prose.length, at) : sysPrefix.slice(at + MARK.sys.length, p);
    // Prose in the same turn as the user's system message (Llama 3.1's knowledge-cutoff preamble) is not a second prompt.
    if (!between.match(MARKUP)) continue;
    const role = roleAt(sysPrefix, at);
    if (role === roleAt(sysPrefix, p)) return { prose, between, role };
  }
  return null;
}

/**
 * Decides, from the render of a conversation with a system message and of the same without it, whether the
 * user's system message appears more than once, or next to the default system prompt the template writes when
 * none is given (in a separate turn). Reads the chat template; emits CHAT_TEMPLATE_DUP_SYSTEM (warning). Skipped
 * when the template does not render a system message (some refuse the role on purpose).
 */
export const chatTemplateDupSystem: Check = {
  id: 'chat-template-dup-system',
  title: "The user's system message is rendered once, instead of any default",
  queue: 'checks',
  codes: ['CHAT_TEMPLATE_DUP_SYSTEM'],
  async run(ctx) {
    const r = await chatRenders(ctx);
    if (typeof r === 'string') return { status: 'skipped', reason: r };
    const why = unrenderable(r);
    if (why) return { status: 'skipped', reason: why };
    const sys = renderedText(r, 'system');
    if (sys === null || !sys.includes(MARK.sys) || !sys.includes(MARK.user1))
      return {
        status: 'skipped',
        reason: 'the template does not render a system message; see the chat-template check',
      };
    const count = sys.split(MARK.sys).length - 1;
    if (count > 1) {
      const first = sys.indexOf(MARK.sys);
      const title = `The chat template renders the user's system message ${count} times`;
      const detail = `A system message supplied by the user appears ${count} times in the rendered prompt (typically once in a system block and again in the message loop). Skip messages[0] in the loop when it was rendered as the system block.`;
      return {
        status: 'findings',
        findings: [
          finding(r, title, detail, {
            occurrences: count,
            rendered: excerpt(sys, first, sys.lastIndexOf(MARK.sys), 120),
          }),
        ],
      };
    }
    const plain = renderedText(r, 'plain');
    const dup = plain?.includes(MARK.user1) ? defaultNextToUsers(plain, sys) : null;
    if (!dup) return { status: 'passed' };
    const title = "The chat template renders its default system prompt next to the user's system message";
    const detail = `Without a system message the template writes "${dup.prose}"; with one, it writes that default in a separate turn as well as the user's, so the model gets two system instructions. Write the default only when messages[0] is not a system message.`;
    return {
      status: 'findings',
      findings: [
        finding(r, title, detail, {
          defaultPrompt: dup.prose,
          role: dup.role,
          separatedBy: dup.between,
          rendered: excerpt(sys, 0, sys.indexOf(MARK.user1), 0),
        }),
      ],
    };
  },
};
