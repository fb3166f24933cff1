/**
 * CHAT_TEMPLATE_GEN_PROMPT: `add_generation_prompt` must decide whether the assistant header ends the prompt. A
 * template that appends the header regardless puts an empty assistant turn into SFT data and into every multi-turn
 * history; one that never appends it starts inference without the assistant turn, so the model continues the
 * user's text (transformers chat templating docs, "What are generation prompts?").
 */
import type { Check, FindingInput } from '../types.ts';
import { MARK } from './chat-scenarios.ts';
import { chatRenders, excerpt, renderedText, unrenderable } from './template-render.ts';
import type { ChatRenders } from './template-render.ts';

/** Role words an assistant header carries across prompt formats (ChatML, Llama 3, Gemma, Phi, Command-R, DeepSeek, Granite, harmony). */
const ASSISTANT_ROLE = /assistant|model|chatbot/gi;

/** What the template writes after the user's message when nothing follows, and between it and a reply. */
function tails(r: ChatRenders): { off: string; on: string; between: string } | string {
  const off = renderedText(r, 'open');
  const on = renderedText(r, 'prompt');
  if (off === null || on === null)
    return 'a single user message does not render with and without add_generation_prompt; see the chat-template check';
  const history = renderedText(r, 'plain') ?? renderedText(r, 'multi');
  const from = history?.indexOf(MARK.user1) ?? -1;
  const to = history?.indexOf(MARK.asst1) ?? -1;
  if (history === null || from < 0 || to < from)
    return 'no rendered conversation shows an assistant reply after a user message';
  const after = (t: string): string => t.slice(t.lastIndexOf(MARK.user1) + MARK.user1.length);
  return { off: after(off), on: after(on), between: history.slice(from + MARK.user1.length, to) };
}

function finding(
  r: ChatRenders,
  appended: boolean,
  role: string,
  t: { off: string; on: string; between: string },
): FindingInput {
  const when = appended ? 'false' : 'true';
  return {
    code: 'CHAT_TEMPLATE_GEN_PROMPT',
    severity: 'warning',
    title: appended
      ? 'The chat template appends the assistant header even with add_generation_prompt=false'
      : 'The chat template does not append the assistant header with add_generation_prompt=true',
    detail: appended
      ? `With add_generation_prompt=false the prompt still ends with the "${role}" header the template puts before replies, so SFT data and multi-turn histories get an empty assistant turn. Emit the header only under {% if add_generation_prompt %}.`
      : `With add_generation_prompt=true the prompt ends right after the user's turn, without the "${role}" header the template puts before replies, so generation does not start an assistant turn. Emit the header under {% if add_generation_prompt %} after the messages.`,
    evidence: {
      templateFile: r.file,
      addGenerationPrompt: when,
      assistantRole: role,
      betweenUserAndReply: t.between,
      tailWithoutPrompt: excerpt(t.off, 0, 0, 200),
      tailWithPrompt: excerpt(t.on, 0, 0, 200),
    },
    files: [r.file],
  };
}

/**
 * Decides, from the renders of one user message with and without add_generation_prompt and of a conversation with a
 * reply, whether the assistant header (the role word the template writes before replies) is appended exactly when
 * add_generation_prompt is true. Reads the chat template; emits CHAT_TEMPLATE_GEN_PROMPT (warning). Templates
 * without a role-named assistant header (Llama 2 and Mistral `[INST]`) pass.
 */
export const chatTemplateGenPrompt: Check = {
  id: 'chat-template-gen-prompt',
  title: 'add_generation_prompt decides whether the assistant header is appended',
  queue: 'checks',
  codes: ['CHAT_TEMPLATE_GEN_PROMPT'],
  async run(ctx) {
    const r = await chatRenders(ctx);
    if (typeof r === 'string') return { status: 'skipped', reason: r };
    const why = unrenderable(r);
    if (why) return { status: 'skipped', reason: why };
    const t = tails(r);
    if (typeof t === 'string') return { status: 'skipped', reason: t };
    const role = [...t.between.matchAll(ASSISTANT_ROLE)].pop()?.[0];
    if (!role) return { status: 'passed' };
    if (t.off.includes(role)) return { status: 'findings', findings: [finding(r, true, role, t)] };
    if (!t.on.includes(role)) return { status: 'findings', findings: [finding(r, false, role, t)] };
    return { status: 'passed' };
  },
};
