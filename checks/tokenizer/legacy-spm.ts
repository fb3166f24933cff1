/**
 * LEGACY_SPM: SentencePiece tokenizers of the Llama/T5 classes have a `legacy` switch (transformers PR #24565):
 * legacy=true puts SentencePiece's "▁" prefix on the text after every special token (`<s>Hello` → `<s>`,`▁Hello`),
 * legacy=false only at the start of the text. tokenizer_config.json sets it for the slow tokenizer; tokenizer.json
 * bakes one behaviour in (Metaspace prepend_scheme "always" vs "first"). When they differ, the fast and slow
 * tokenizers disagree after every special token — the Mistral fast/slow bug (tokenizers #1448, transformers #29452).
 */
import { jsonObject } from '../snapshot-files.ts';
import type { Check, CheckMemo, FindingInput, Snapshot } from '../types.ts';
import { addedTokens } from './special-tokens.ts';
import { tokenVariables } from './chat-scenarios.ts';
import { fastIds, fastTokenizer, spmModel, tokenStrings } from './tokenizers.ts';

/** Tokenizer classes whose slow implementation reads `legacy` (transformers tokenization_llama.py, tokenization_t5.py, tokenization_code_llama.py). */
const LEGACY_CLASSES = new Set([
  'LlamaTokenizer',
  'LlamaTokenizerFast',
  'CodeLlamaTokenizer',
  'CodeLlamaTokenizerFast',
  'T5Tokenizer',
  'T5TokenizerFast',
]);

/** Does tokenizer.json put "▁" on text after a special token? null when it cannot tell (no Metaspace prefix at all). */
function fastLegacy(
  memo: CheckMemo,
  snap: Snapshot,
): { legacy: boolean; special: string; ids: number[]; tokens: (string | null)[] } | null {
  const fast = fastTokenizer(memo, snap);
  if (fast.state !== 'ok') return null;
  const tok = fast.value;
  const added = addedTokens(snap, memo);
  const special = [tokenVariables(snap).bos_token, ...[...added.special].map((id) => added.byId.get(id) ?? '')].find(
    (t) => t && tok.token_to_id(t) !== undefined,
  );
  if (!special) return null;
  const alone = tokenStrings(tok, fastIds(tok, 'Hello'));
  if (!alone[0]?.startsWith('▁')) return null;
  const ids = fastIds(tok, `${special}Hello`);
  const tokens = tokenStrings(tok, ids);
  return { legacy: tokens[1]?.startsWith('▁') === true, special, ids, tokens };
}

/**
 * Decides whether tokenizer_config.json's `legacy` setting (or its default) agrees with the "▁" handling baked into
 * tokenizer.json and with tokenizer.model's dummy prefix. Emits LEGACY_SPM; skipped for tokenizer classes without the switch.
 */
export const legacySpm: Check = {
  id: 'legacy-spm',
  title: 'SentencePiece legacy handling is declared and matches tokenizer.json',
  queue: 'checks',
  codes: ['LEGACY_SPM'],
  run({ release: snap, memo }) {
    const tc = jsonObject(snap, 'tokenizer_config.json');
    const cls = typeof tc?.tokenizer_class === 'string' ? tc.tokenizer_class : null;
    if (!cls || !LEGACY_CLASSES.has(cls))
      return { status: 'skipped', reason: `tokenizer class ${cls ?? '(none)'} has no legacy setting` };
    const spm = spmModel(memo, snap);
    if (spm.state === 'ok' && !spm.value.addDummyPrefix)
      return { status: 'skipped', reason: 'tokenizer.model adds no "▁" prefix, so legacy changes nothing' };
    const fast = fastLegacy(memo, snap);
    if (!fast && spm.state !== 'ok')
      return {
        status: 'skipped',
        reason: 'neither a SentencePiece tokenizer.model nor a Metaspace-style tokenizer.json',
      };
    const declared = typeof tc?.legacy === 'boolean' ? tc.legacy : null;
    const slow = declared ?? true;
    const evidence = {
      tokenizerClass: cls,
      legacy: declared,
      slowBehaviour: slow ? 'legacy' : 'non-legacy',
      fast: fast
        ? {
            behaviour: fast.legacy ? 'legacy' : 'non-legacy',
            text: `${fast.special}Hello`,
            ids: fast.ids,
            tokens: fast.tokens,
          }
        : null,
    };
    let f: FindingInput;
    if (fast && fast.legacy !== slow) {
      f = {
        code: 'LEGACY_SPM',
        severity: 'warning',
        title: `tokenizer.json is ${fast.legacy ? 'legacy' : 'non-legacy'} but tokenizer_config.json makes the slow tokenizer ${slow ? 'legacy' : 'non-legacy'}`,
        detail: `tokenizer.json encodes ${JSON.stringify(`${fast.special}Hello`)} as ${JSON.stringify(fast.tokens)}; the slow tokenizer (legacy=${declared ?? 'unset, default true'}) ${slow ? 'adds' : 'does not add'} "▁" after special tokens. Fast and slow tokenizers disagree after every special token. Regenerate tokenizer.json with the legacy value the model was trained with.`,
        evidence,
        files: ['tokenizer.json', 'tokenizer_config.json'],
      };
    } else if (slow) {
      f = {
        code: 'LEGACY_SPM',
        severity: 'info',
        title:
          declared === null
            ? 'tokenizer_config.json does not set legacy; transformers falls back to legacy SentencePiece handling'
            : 'The tokenizer uses legacy SentencePiece handling (legacy: true)',
        detail: `A "▁" is inserted after every special token (${fast ? `${JSON.stringify(`${fast.special}Hello`)} → ${JSON.stringify(fast.tokens)}` : '<s>Hello → <s>, ▁Hello'}). That is right only if the model was trained that way; chat templates that write "<s>[INST]" rely on it.${declared === null ? ' Without an explicit value transformers warns and future versions may change the default.' : ''}`,
        evidence,
        files: ['tokenizer_config.json'],
      };
    } else return { status: 'passed' };
    return { status: 'findings', findings: [f] };
  },
};
