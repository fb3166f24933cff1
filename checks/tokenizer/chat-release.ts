/**
 * Whether a release is meant for chat, from what its files and card say. A base model without a chat template
 * is fine, so the decision needs two kinds of evidence (or one strong kind and another), and a name or card that
 * says "base" / "pretrained" vetoes it.
 */
import { TURN_FORMATS } from '../data/chat-turn-tokens.ts';
import { idList, jsonObject, tokenString } from '../snapshot-files.ts';
import type { CheckMemo, Snapshot } from '../types.ts';
import { addedTokens } from './special-tokens.ts';

export interface ChatEvidence {
  kind: 'name' | 'card' | 'eos-terminator' | 'several-eos' | 'turn-tokens';
  detail: string;
  source?: string;
}

const CHAT_WORD = /(^|[-_.\s])(instruct|chat|it|sft|dpo|rlhf|orpo|assistant|conversational)([-_.\s]|$)/i;
const BASE_WORD = /(^|[-_.\s])(base|pt|pretrained|pretrain|foundation)([-_.\s]|$)/i;

/** Card words: `tags` and `pipeline_tag` of the model card metadata. */
function cardWords(snap: Snapshot): string[] {
  const c = snap.cardData ?? {};
  const tags = Array.isArray(c.tags) ? c.tags.filter((t): t is string => typeof t === 'string') : [];
  return typeof c.pipeline_tag === 'string' ? [...tags, c.pipeline_tag] : tags;
}

function nameEvidence(snap: Snapshot): { chat: ChatEvidence[]; base: string | null } {
  const name = snap.repo.split('/').pop() ?? snap.repo;
  const words = cardWords(snap);
  const chat: ChatEvidence[] = [];
  if (CHAT_WORD.test(name)) chat.push({ kind: 'name', detail: `the repo name ${name} says chat/instruct` });
  const tag = words.find((w) => CHAT_WORD.test(w));
  if (tag) chat.push({ kind: 'card', detail: `the model card is tagged ${tag}` });
  const baseTag = words.find((w) => BASE_WORD.test(w));
  const base = BASE_WORD.test(name) ? `the repo name ${name}` : baseTag ? `the card tag ${baseTag}` : null;
  return { chat, base };
}

/** The EOS ids of generation_config.json and the EOS token of tokenizer_config.json, with the tokens they name. */
function eosTokens(memo: CheckMemo, snap: Snapshot): { ids: number[]; tokens: string[] } {
  const added = addedTokens(snap, memo);
  const ids = idList(jsonObject(snap, 'generation_config.json')?.eos_token_id);
  const tokens = ids.map((i) => added.byId.get(i)).filter((t): t is string => !!t);
  const declared = tokenString(jsonObject(snap, 'tokenizer_config.json')?.eos_token);
  if (declared) tokens.push(declared);
  return { ids, tokens: [...new Set(tokens)] };
}

function tokenEvidence(memo: CheckMemo, snap: Snapshot): ChatEvidence[] {
  const out: ChatEvidence[] = [];
  const eos = eosTokens(memo, snap);
  const vocab = addedTokens(snap, memo).byContent;
  for (const f of TURN_FORMATS) {
    const term = f.terminators.find((t) => eos.tokens.includes(t));
    if (term)
      out.push({ kind: 'eos-terminator', detail: `${term} (${f.format} turn end) is an EOS token`, source: f.source });
  }
  if (new Set(eos.ids).size >= 2)
    out.push({ kind: 'several-eos', detail: `generation_config.json stops on ${eos.ids.length} EOS ids` });
  const formats = TURN_FORMATS.filter((f) => f.markers.some((m) => vocab.has(m)));
  if (formats.length)
    out.push({
      kind: 'turn-tokens',
      detail: `chat-turn tokens in the vocabulary (${formats.map((f) => f.format).join(', ')})`,
      source: formats.map((f) => f.source).join('; '),
    });
  return out;
}

const WEIGHT: Record<ChatEvidence['kind'], number> = {
  name: 2,
  card: 2,
  'eos-terminator': 2,
  'several-eos': 1,
  'turn-tokens': 1,
};

/**
 * The evidence that the release is a chat/instruct model, and the decision: at least 3 points (a name or card
 * saying chat and any file evidence; or an EOS that is a turn terminator and another sign), and no name or card
 * saying base/pretrained.
 */
export function chatReleaseEvidence(
  memo: CheckMemo,
  snap: Snapshot,
): { chat: boolean; evidence: ChatEvidence[]; vetoedBy: string | null } {
  const named = nameEvidence(snap);
  const evidence = [...named.chat, ...tokenEvidence(memo, snap)];
  const kinds = new Set(evidence.map((e) => e.kind));
  // Name and card say the same thing: count them once.
  const score = [...kinds].reduce((s, k) => s + WEIGHT[k], 0) - (kinds.has('name') && kinds.has('card') ? 2 : 0);
  return { chat: score >= 3 && !named.base, evidence, vetoedBy: named.base };
}
