/**
 * CHAT_TEMPLATE_UNKNOWN_TOKEN / SPECIAL_TOKEN_SPLIT: every special-looking literal a chat template writes must be
 * a token of the vocabulary and encode to that single id inside the rendered prompt. A template copied from
 * another family writes control tokens the tokenizer does not have; a control token that is in the vocabulary but
 * not an added token is cut into pieces by BPE (Phi-3 `<|user|>`, transformers #35973), and the model never sees it.
 */
import type { Tokenizer } from '@huggingface/tokenizers';
import type { Check, FindingInput } from '../types.ts';
import { addedTokens } from './special-tokens.ts';
import type { ChatRenders } from './template-render.ts';
import { chatRenders, excerpt, unrenderable } from './template-render.ts';
import { fastIds, fastTokenizer, tokenStrings, unusable } from './tokenizers.ts';

/** Shapes of control tokens. `<|…|>` and `<｜…｜>` always look special; `<…>` and `[…]` only when the tokenizer's own special tokens have that shape. */
const SHAPES = [
  { re: /<\|[^|<>\s]{1,48}\|>/g, always: true },
  { re: /<｜[^｜<>]{1,48}｜>/g, always: true },
  { re: /<\/?[A-Za-z][\w.:-]{0,47}>/g, always: false },
  { re: /\[\/?[A-Z][A-Z_]{1,31}\]/g, always: false },
];

interface Literal {
  text: string;
  scenario: string;
  at: number;
  rendered: string;
}

/**
 * Special-looking literals in the rendered conversations, first occurrence of each: the shapes of the tokenizer's
 * special tokens (`special: true`; plain added tokens such as Qwen's `<tool_call>` do not make `<tools>` look
 * special) and every added token.
 */
function literals(r: ChatRenders, specialContents: string[], addedContents: string[]): Literal[] {
  const shapes = SHAPES.filter((s) => s.always || specialContents.some((c) => new RegExp(`^${s.re.source}$`).test(c)));
  const seen = new Map<string, Literal>();
  for (const [scenario, res] of r.run.results) {
    if (!res.ok) continue;
    const note = (text: string, at: number): void => {
      if (!seen.has(text)) seen.set(text, { text, scenario, at, rendered: res.text });
    };
    for (const s of shapes) for (const m of res.text.matchAll(s.re)) note(m[0], m.index ?? 0);
    for (const c of addedContents) {
      const at = c.length > 1 ? res.text.indexOf(c) : -1;
      if (at >= 0) note(c, at);
    }
  }
  return [...seen.values()];
}

function unknownFinding(r: ChatRenders, tok: Tokenizer, lit: Literal): FindingInput {
  const ids = fastIds(tok, lit.text);
  return {
    code: 'CHAT_TEMPLATE_UNKNOWN_TOKEN',
    severity: 'warning',
    title: `The chat template writes ${lit.text}, which is not a token of this tokenizer`,
    detail: `${r.file} emits ${lit.text}, but neither tokenizer.json's vocabulary nor its added tokens have it, so it is encoded as ${ids.length} ordinary pieces. The template was probably written for another tokenizer; use this model's own control tokens.`,
    evidence: {
      literal: lit.text,
      encodesAs: { ids, tokens: tokenStrings(tok, ids) },
      templateFile: r.file,
      scenario: lit.scenario,
      renderedExcerpt: excerpt(lit.rendered, lit.at, lit.at + lit.text.length),
    },
    files: [r.file, 'tokenizer.json'],
  };
}

function splitFinding(r: ChatRenders, tok: Tokenizer, lit: Literal, id: number, special: boolean): FindingInput {
  const alone = fastIds(tok, lit.text);
  const ctx = fastIds(tok, lit.rendered);
  return {
    code: 'SPECIAL_TOKEN_SPLIT',
    severity: special ? 'critical' : 'warning',
    title: `${lit.text} (id ${id}) written by the chat template does not encode to its own id`,
    detail: `The token exists (id ${id}) but encoding the rendered prompt ${alone.length === 1 && alone[0] === id ? 'in context' : 'alone or in context'} cuts it into pieces, so the model never receives it. Make it an added token in tokenizer.json (added_tokens, special: true, normalized: false).`,
    evidence: {
      literal: lit.text,
      id,
      addedToken: special,
      encodedAlone: { ids: alone, tokens: tokenStrings(tok, alone) },
      occurrencesInPrompt: lit.rendered.split(lit.text).length - 1,
      idInEncodedPrompt: ctx.filter((x) => x === id).length,
      templateFile: r.file,
      scenario: lit.scenario,
      renderedExcerpt: excerpt(lit.rendered, lit.at, lit.at + lit.text.length),
    },
    files: [r.file, 'tokenizer.json'],
  };
}

/**
 * Decides whether every special-looking literal the rendered chat template writes is a token of tokenizer.json and
 * encodes to one id. Reads the template renders and tokenizer.json; emits CHAT_TEMPLATE_UNKNOWN_TOKEN and
 * SPECIAL_TOKEN_SPLIT.
 */
export const templateTokens: Check = {
  id: 'template-tokens',
  title: 'Control tokens written by the chat template exist and encode to one id',
  queue: 'checks',
  codes: ['CHAT_TEMPLATE_UNKNOWN_TOKEN', 'SPECIAL_TOKEN_SPLIT'],
  async run(context) {
    const { release: snap, memo } = context;
    const r = await chatRenders(context);
    if (typeof r === 'string') return { status: 'skipped', reason: r };
    const why = unrenderable(r);
    if (why) return { status: 'skipped', reason: why };
    const fast = fastTokenizer(memo, snap);
    if (fast.state !== 'ok')
      return { status: 'skipped', reason: unusable('tokenizer.json', fast) ?? 'no tokenizer.json' };
    const tok = fast.value;
    const added = addedTokens(snap, memo);
    const addedContents = [...added.byContent.keys()];
    const specialContents = added.special.size
      ? addedContents.filter((c) => added.special.has(added.byContent.get(c)!))
      : addedContents;
    const findings: FindingInput[] = [];
    for (const lit of literals(r, specialContents, addedContents)) {
      const id = tok.token_to_id(lit.text);
      if (id === undefined) {
        findings.push(unknownFinding(r, tok, lit));
        continue;
      }
      const alone = fastIds(tok, lit.text);
      const inPrompt = fastIds(tok, lit.rendered).filter((x) => x === id).length;
      const occurrences = lit.rendered.split(lit.text).length - 1;
      if (alone.length !== 1 || alone[0] !== id || inPrompt < occurrences) {
        findings.push(splitFinding(r, tok, lit, id, added.special.has(id) || added.byContent.has(lit.text)));
      }
    }
    return { status: 'findings', findings };
  },
};
