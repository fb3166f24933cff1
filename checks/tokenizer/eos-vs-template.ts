import { Template } from '@huggingface/jinja';
import { idList, jsonObject, tokenString } from '../snapshot-files.ts';
import type { Check, FindingInput, Snapshot } from '../types.ts';
import { addedTokens, chatTemplate, tokenId } from './special-tokens.ts';

const MARK = { sys: 'HW_SYSTEM_7d1', user1: 'HW_USER_ONE_7d1', asst: 'HW_ASSISTANT_7d1', user2: 'HW_USER_TWO_7d1' };

/** Renders a conversation where the assistant's turn is followed by another user turn. */
function renderTurns(template: string, snap: Snapshot): string {
  const tc = jsonObject(snap, 'tokenizer_config.json');
  const t = new Template(template);
  const vars = {
    bos_token: tokenString(tc?.bos_token) ?? '',
    eos_token: tokenString(tc?.eos_token) ?? '',
    pad_token: tokenString(tc?.pad_token) ?? '',
    unk_token: tokenString(tc?.unk_token) ?? '',
    add_generation_prompt: false,
  };
  const turns = [
    { role: 'user', content: MARK.user1 },
    { role: 'assistant', content: MARK.asst },
    { role: 'user', content: MARK.user2 },
  ];
  try {
    return t.render({ ...vars, messages: [{ role: 'system', content: MARK.sys }, ...turns] });
  } catch {
    // Some templates reject a system role (Gemma raises); the turn structure is the same without it.
    return t.render({ ...vars, messages: turns });
  }
}

/** Special tokens (leftmost-longest) occurring in a piece of rendered text, in order. */
export function specialTokensIn(text: string, tokens: Map<string, number>): { token: string; id: number; at: number }[] {
  const contents = [...tokens.keys()].filter((c) => c.length > 1).sort((a, b) => b.length - a.length);
  const out: { token: string; id: number; at: number }[] = [];
  for (let i = 0; i < text.length; ) {
    const hit = contents.find((c) => text.startsWith(c, i));
    if (hit) {
      out.push({ token: hit, id: tokens.get(hit)!, at: i });
      i += hit.length;
    } else i++;
  }
  return out;
}

/**
 * EOS_MISMATCH: the token that closes an assistant turn in the chat template must be one of the EOS ids
 * (generation_config.json eos_token_id, or the tokenizer's eos). Llama-3-Instruct shipped turns ending in
 * <|eot_id|> (128009) while every EOS said <|end_of_text|> (128001): endless generation (vLLM #4180).
 */
export const eosVsTemplate: Check = {
  id: 'eos-vs-template',
  title: 'Chat template turn terminator is an EOS token',
  queue: 'checks',
  codes: ['EOS_MISMATCH'],
  run({ release: snap }) {
    const tpl = chatTemplate(snap);
    if (!tpl) return { status: 'skipped', reason: 'no chat template' };
    const added = addedTokens(snap);
    if (added.byContent.size === 0) return { status: 'skipped', reason: 'no added tokens in tokenizer.json or tokenizer_config.json' };
    let rendered: string;
    try {
      rendered = renderTurns(tpl.template, snap);
    } catch (e) {
      return { status: 'skipped', reason: `chat template does not render: ${(e as Error).message}` };
    }
    const a = rendered.indexOf(MARK.asst);
    if (a < 0) return { status: 'skipped', reason: 'the rendered template does not contain the assistant message' };
    const after = rendered.slice(a + MARK.asst.length);
    const nextUser = after.indexOf(MARK.user2);
    const segment = nextUser >= 0 ? after.slice(0, nextUser) : after;
    const specials = new Map([...added.byContent].filter(([, id]) => added.special.size === 0 || added.special.has(id)));
    const terminator = specialTokensIn(segment, specials)[0];
    if (!terminator) return { status: 'passed' };

    const eos: { file: string; field: string; ids: number[] }[] = [];
    const gen = jsonObject(snap, 'generation_config.json');
    if (gen && gen.eos_token_id !== undefined) eos.push({ file: 'generation_config.json', field: 'eos_token_id', ids: idList(gen.eos_token_id) });
    for (const file of ['tokenizer_config.json', 'special_tokens_map.json']) {
      const s = tokenString(jsonObject(snap, file)?.eos_token);
      const id = s === null ? null : tokenId(snap, added, s);
      if (id !== null) eos.push({ file, field: 'eos_token', ids: [id] });
    }
    if (eos.length === 0) return { status: 'skipped', reason: 'no EOS declared in generation_config.json or the tokenizer files' };
    if (eos.some((e) => e.ids.includes(terminator.id))) return { status: 'passed' };
    const finding: FindingInput = {
      code: 'EOS_MISMATCH',
      severity: 'critical',
      title: `Assistant turns end with ${terminator.token} (id ${terminator.id}), which is not an EOS token`,
      detail: `The chat template closes every assistant turn with ${terminator.token}, but generation stops only on the EOS ids ${[...new Set(eos.flatMap((e) => e.ids))].join(', ')}. Runtimes that honour these files will generate past the end of the turn. Add ${terminator.id} to generation_config.json eos_token_id.`,
      evidence: {
        terminator: { token: terminator.token, id: terminator.id },
        eos: eos.map((e) => ({ file: e.file, field: e.field, ids: e.ids, tokens: e.ids.map((i) => added.byId.get(i) ?? null) })),
        templateFile: tpl.file,
        renderedExcerpt: rendered.slice(Math.max(0, a - 80), a + MARK.asst.length + segment.length + 40),
      },
      files: [tpl.file, ...new Set(eos.map((e) => e.file))],
    };
    return { status: 'findings', findings: [finding] };
  },
};
