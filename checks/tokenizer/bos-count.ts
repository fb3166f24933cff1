/**
 * DOUBLE_BOS / CHAT_TEMPLATE_MISSING_BOS: the BOS a chat template writes and the BOS the tokenizer inserts on its
 * own must add up to exactly one. Double BOS shifted every position by one in Llama-3 (OpenRLHF #393),
 * DeepSeek-R1-Distill-Qwen (open-r1 PR #462) and Gemma-3 (vLLM PRs #16976, #55288); Gemma needs its BOS
 * (unsloth.ai/blog/gemma-bugs, bug 1). apply_chat_template(tokenize=True) and vLLM's chat endpoint encode the
 * rendered prompt with add_special_tokens=False, so a template that relies on the tokenizer's BOS gets none there.
 * A template that writes BOS while the tokenizer adds one is a warning (it depends on how the caller encodes);
 * a template that writes two is critical for every caller.
 */
import { jsonObject } from '../snapshot-files.ts';
import type { Check, CheckMemo, FindingInput, Snapshot } from '../types.ts';
import { tokenVariables } from './chat-scenarios.ts';
import { addedTokens, tokenId } from './special-tokens.ts';
import type { ChatRenders } from './template-render.ts';
import { chatRenders, excerpt, firstRendered, unrenderable } from './template-render.ts';
import { fastTokenizer, tokenStrings } from './tokenizers.ts';

interface AutoBos {
  adds: boolean;
  /** How each source answers: the post-processor's behaviour and tokenizer_config.json add_bos_token. */
  sources: { file: string; field: string; adds: boolean | null; ids?: number[]; tokens?: (string | null)[] }[];
}

/** Whether the tokenizer inserts BOS when encoding with add_special_tokens=True. */
function autoBos(memo: CheckMemo, snap: Snapshot, bosId: number): AutoBos {
  const sources: AutoBos['sources'] = [];
  const fast = fastTokenizer(memo, snap);
  if (fast.state === 'ok') {
    const ids = fast.value.encode('Hello', { add_special_tokens: true }).ids;
    sources.push({
      file: 'tokenizer.json',
      field: 'post_processor',
      adds: ids[0] === bosId,
      ids,
      tokens: tokenStrings(fast.value, ids),
    });
  }
  const flag = jsonObject(snap, 'tokenizer_config.json')?.add_bos_token;
  sources.push({
    file: 'tokenizer_config.json',
    field: 'add_bos_token',
    adds: typeof flag === 'boolean' ? flag : null,
  });
  return { adds: sources.some((s) => s.adds === true), sources };
}

/** How many BOS strings the rendered text starts with. */
function leadingBos(text: string, bos: string): number {
  let n = 0;
  while (text.startsWith(bos, n * bos.length)) n++;
  return n;
}

function bosFinding(
  code: 'DOUBLE_BOS' | 'CHAT_TEMPLATE_MISSING_BOS',
  severity: 'critical' | 'warning',
  title: string,
  detail: string,
  ctx: {
    r: ChatRenders;
    scenario: string;
    text: string;
    bos: string;
    bosId: number;
    leading: number;
    auto: AutoBos;
  },
): FindingInput {
  return {
    code,
    severity,
    title,
    detail,
    evidence: {
      bos: { token: ctx.bos, id: ctx.bosId },
      templateBosCount: ctx.leading,
      tokenizerAddsBos: ctx.auto.sources,
      templateFile: ctx.r.file,
      scenario: ctx.scenario,
      renderedExcerpt: excerpt(ctx.text, 0, 0, 160),
    },
    files: [...new Set([ctx.r.file, ...ctx.auto.sources.filter((s) => s.adds !== null).map((s) => s.file)])],
  };
}

/**
 * Decides whether the rendered chat template and the tokenizer (tokenizer.json post-processor,
 * tokenizer_config.json add_bos_token) give exactly one BOS. Emits DOUBLE_BOS and CHAT_TEMPLATE_MISSING_BOS.
 */
export const bosCount: Check = {
  id: 'bos-count',
  title: 'Chat template and tokenizer give exactly one BOS',
  queue: 'checks',
  codes: ['DOUBLE_BOS', 'CHAT_TEMPLATE_MISSING_BOS'],
  async run(context) {
    const { release: snap, memo } = context;
    const r = await chatRenders(context);
    if (typeof r === 'string') return { status: 'skipped', reason: r };
    const why = unrenderable(r);
    if (why) return { status: 'skipped', reason: why };
    const bos = tokenVariables(snap).bos_token;
    if (!bos)
      return { status: 'skipped', reason: 'no bos_token declared in tokenizer_config.json or special_tokens_map.json' };
    const bosId = tokenId(snap, addedTokens(snap, memo), bos, memo);
    if (bosId === null)
      return { status: 'skipped', reason: `bos_token ${bos} is not a token of the vocabulary (see special-token-ids)` };
    const conv = firstRendered(r, ['prompt', 'system', 'plain', 'multi'])!;
    const leading = leadingBos(conv.text, bos);
    const auto = autoBos(memo, snap, bosId);
    const ctx = { r, scenario: conv.name, text: conv.text, bos, bosId, leading, auto };
    if (leading >= 2) {
      return {
        status: 'findings',
        findings: [
          bosFinding(
            'DOUBLE_BOS',
            'critical',
            `The chat template itself starts with ${leading} ${bos} tokens`,
            `Every prompt rendered from ${r.file} begins with ${leading}× ${bos}; the model was trained with one. Emit bos_token once.`,
            ctx,
          ),
        ],
      };
    }
    if (leading === 1 && auto.adds) {
      return {
        status: 'findings',
        findings: [
          bosFinding(
            'DOUBLE_BOS',
            'warning',
            `Prompts get ${bos} twice: from the chat template and from the tokenizer`,
            `The template writes ${bos} and the tokenizer inserts ${bos} (id ${bosId}) when encoding with add_special_tokens=True, so tokenizer(apply_chat_template(..., tokenize=False)) — common in fine-tuning and completion endpoints — gives [${bosId}, ${bosId}, …]. Drop {{ bos_token }} from the template or stop the tokenizer from adding it (add_bos_token: false and no BOS in the post-processor).`,
            ctx,
          ),
        ],
      };
    }
    if (leading === 0 && auto.adds) {
      return {
        status: 'findings',
        findings: [
          bosFinding(
            'CHAT_TEMPLATE_MISSING_BOS',
            'warning',
            `The chat template does not write ${bos}, which the tokenizer adds to plain text`,
            `The tokenizer inserts ${bos} (id ${bosId}) for plain text, so the model expects it, but the chat template does not start with it. apply_chat_template(tokenize=True) and chat servers encode the rendered prompt with add_special_tokens=False and send no BOS at all. Start the template with {{ bos_token }}.`,
            ctx,
          ),
        ],
      };
    }
    return { status: 'passed' };
  },
};
