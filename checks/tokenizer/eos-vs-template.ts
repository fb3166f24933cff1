import { idList, jsonObject, tokenString } from '../snapshot-files.ts';
import type { Check, CheckMemo, FindingInput, Snapshot } from '../types.ts';
import { MARK } from './chat-scenarios.ts';
import type { AddedTokens } from './special-tokens.ts';
import { addedTokens, tokenId } from './special-tokens.ts';
import type { ChatRenders } from './template-render.ts';
import { chatRenders, excerpt, firstRendered, renderedText, specialTokensIn, unrenderable } from './template-render.ts';

interface Terminator {
  token: string;
  id: number;
  scenario: string;
  excerpt: string;
  /** Closes the conversation's last assistant message (what the model is trained to end a reply with). */
  final: boolean;
}

interface EosSource {
  file: string;
  field: string;
  ids: number[];
}

/** The first special token after an assistant message, up to the next marker (or the end of the text). */
function closing(
  text: string,
  mark: string,
  next: string | null,
  specials: Map<string, number>,
  scenario: string,
): Terminator | null {
  const a = text.indexOf(mark);
  if (a < 0) return null;
  const after = text.slice(a + mark.length);
  const n = next === null ? -1 : after.indexOf(next);
  const segment = n >= 0 ? after.slice(0, n) : after;
  const hit = specialTokensIn(segment, specials)[0];
  if (!hit) return null;
  return {
    token: hit.token,
    id: hit.id,
    scenario,
    excerpt: excerpt(text, a, a + mark.length + segment.length),
    final: next === null,
  };
}

/** What closes an assistant turn: after the first reply (followed by a user turn) and after a final reply. */
function terminators(r: ChatRenders, specials: Map<string, number>): Terminator[] {
  const out: Terminator[] = [];
  const conv = firstRendered(r, ['system', 'plain']);
  const t1 = conv && closing(conv.text, MARK.asst1, MARK.user2, specials, conv.name);
  if (t1) out.push(t1);
  const multi = renderedText(r, 'multi');
  const t2 = multi === null ? null : closing(multi, MARK.asst2, null, specials, 'multi');
  if (t2 && !out.some((t) => t.id === t2.id)) out.push(t2);
  return out;
}

/**
 * The EOS ids runtimes stop on: `generate` uses generation_config.json (config.json when that has none); servers
 * such as vLLM also stop on the tokenizer's eos_token.
 */
function eosSources(
  memo: CheckMemo,
  snap: Snapshot,
  added: AddedTokens,
): { generate: EosSource | null; tokenizer: EosSource[] } {
  const gen = jsonObject(snap, 'generation_config.json');
  const cfg = jsonObject(snap, 'config.json');
  let generate: EosSource | null = null;
  if (gen && gen.eos_token_id != null)
    generate = { file: 'generation_config.json', field: 'eos_token_id', ids: idList(gen.eos_token_id) };
  else if (cfg && cfg.eos_token_id != null)
    generate = { file: 'config.json', field: 'eos_token_id', ids: idList(cfg.eos_token_id) };
  const tokenizer: EosSource[] = [];
  for (const file of ['tokenizer_config.json', 'special_tokens_map.json']) {
    const s = tokenString(jsonObject(snap, file)?.eos_token);
    const id = s === null ? null : tokenId(snap, added, s, memo);
    if (id !== null) tokenizer.push({ file, field: 'eos_token', ids: [id] });
  }
  return { generate, tokenizer };
}

function finding(t: Terminator, all: EosSource[], added: AddedTokens, file: string, partial: boolean): FindingInput {
  const ids = [...new Set(all.flatMap((e) => e.ids))];
  const gen = all[0];
  return {
    code: 'EOS_MISMATCH',
    severity: partial ? 'warning' : 'critical',
    title: partial
      ? `Assistant turns end with ${t.token} (id ${t.id}), which ${gen.file} ${gen.field} does not list`
      : `Assistant turns end with ${t.token} (id ${t.id}), which is not an EOS token`,
    detail: partial
      ? `The chat template closes assistant turns with ${t.token}. The tokenizer's eos_token is ${t.token}, but transformers' generate() stops only on ${gen.file} ${gen.field} (${gen.ids.join(', ')}), so it generates past the end of the turn. Add ${t.id} to ${gen.file} eos_token_id.`
      : `The chat template closes every assistant turn with ${t.token}, but generation stops only on the EOS ids ${ids.join(', ')}. Runtimes that honour these files generate past the end of the turn. Add ${t.id} to generation_config.json eos_token_id.`,
    evidence: {
      terminator: { token: t.token, id: t.id },
      eos: all.map((e) => ({
        file: e.file,
        field: e.field,
        ids: e.ids,
        tokens: e.ids.map((i) => added.byId.get(i) ?? null),
      })),
      templateFile: file,
      scenario: t.scenario,
      renderedExcerpt: t.excerpt,
    },
    files: [...new Set([file, ...all.map((e) => e.file)])],
  };
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
  async run(context) {
    const { release: snap, memo } = context;
    const r = await chatRenders(context);
    if (typeof r === 'string') return { status: 'skipped', reason: r };
    const why = unrenderable(r);
    if (why) return { status: 'skipped', reason: why };
    const added = addedTokens(snap, memo);
    if (added.byContent.size === 0)
      return { status: 'skipped', reason: 'no added tokens in tokenizer.json or tokenizer_config.json' };
    const specials = new Map(
      [...added.byContent].filter(([, id]) => added.special.size === 0 || added.special.has(id)),
    );
    const ts = terminators(r, specials);
    if (ts.length === 0) return { status: 'passed' };
    const { generate, tokenizer } = eosSources(memo, snap, added);
    const all = [...(generate ? [generate] : []), ...tokenizer];
    if (all.length === 0)
      return {
        status: 'skipped',
        reason: 'no EOS declared in generation_config.json, config.json or the tokenizer files',
      };
    const stops = (t: Terminator): boolean =>
      generate ? generate.ids.includes(t.id) : tokenizer.some((e) => e.ids.includes(t.id));
    // Formats such as OpenAI's harmony close a reply with an EOS (<|return|>) but rewrite earlier replies in the
    // history with a message separator (<|end|>): when the last reply ends on a stop token, the model stops.
    const finalStops = ts.some((t) => t.final && stops(t));
    const findings: FindingInput[] = [];
    for (const t of ts) {
      if (stops(t) || (finalStops && !t.final)) continue;
      const inTokenizer = tokenizer.some((e) => e.ids.includes(t.id));
      findings.push(finding(t, all, added, r.file, inTokenizer));
    }
    return { status: 'findings', findings };
  },
};
