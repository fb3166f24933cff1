/**
 * TOKENIZER_ROUNDTRIP: decode(encode(x)) must give x back for the probe corpus, modulo the normalisation the
 * tokenizer documents in its normalizer (Unicode forms, lowercasing, accent stripping) and the whitespace a
 * whitespace pre-tokenizer drops. Lossy tokenizers turn characters into <unk> (a missing byte fallback) or lose
 * spaces; `clean_up_tokenization_spaces: true` makes transformers' decode rewrite " ," and " 's" (Llama-3).
 */
import type { Tokenizer } from '@huggingface/tokenizers';
import { jsonObject } from '../snapshot-files.ts';
import type { Check, CheckMemo, FindingInput, Snapshot } from '../types.ts';
import { LLAMA_CPP_CHK_TXT, PROBES } from './probe-corpus.ts';
import { fastIds, fastTokenizer, tokenStrings, unusable } from './tokenizers.ts';

type Json = Record<string, unknown> | null | undefined;

/** The documented effect of a tokenizer.json normalizer on text, for the parts that are lossy. */
function applyNormalizer(n: Json, text: string): string {
  if (!n || typeof n !== 'object') return text;
  switch (n.type) {
    case 'Sequence':
      return ((n.normalizers as Json[]) ?? []).reduce<string>((t, x) => applyNormalizer(x, t), text);
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return text.normalize(n.type);
    case 'Precompiled':
      // SentencePiece's nmt_nfkc charsmap: NFKC plus whitespace folding, close enough for a comparison.
      return text.normalize('NFKC');
    case 'Lowercase':
      return text.toLowerCase();
    case 'StripAccents':
      return text.normalize('NFD').replace(/\p{Mn}/gu, '');
    case 'Strip':
      return n.strip_left === false
        ? n.strip_right === false
          ? text
          : text.trimEnd()
        : n.strip_right === false
          ? text.trimStart()
          : text.trim();
    case 'BertNormalizer': {
      let t = n.clean_text === false ? text : text.replace(/\s/g, ' ');
      if (n.lowercase !== false) t = t.toLowerCase();
      if (n.strip_accents === true || (n.strip_accents == null && n.lowercase !== false))
        t = t.normalize('NFD').replace(/\p{Mn}/gu, '');
      return t;
    }
    default:
      return text;
  }
}

/** Whether the pre-tokenizer (or a WordPiece model) throws whitespace away, so decode cannot restore it. */
function dropsWhitespace(tj: Json): boolean {
  const types = (p: Json): string[] =>
    !p ? [] : p.type === 'Sequence' ? ((p.pretokenizers as Json[]) ?? []).flatMap(types) : [String(p.type)];
  const pre = types(tj?.pre_tokenizer as Json);
  return (
    pre.some((t) => ['Whitespace', 'WhitespaceSplit', 'BertPreTokenizer', 'CharDelimiterSplit'].includes(t)) ||
    (tj?.model as Json)?.type === 'WordPiece'
  );
}

interface Loss {
  text: string;
  decoded: string;
  ids: number[];
  tokens: (string | null)[];
  unkCount: number;
}

function losses(memo: CheckMemo, snap: Snapshot, tok: Tokenizer, cleanup: boolean): Loss[] {
  const tj = jsonObject(snap, 'tokenizer.json', memo);
  const squash = dropsWhitespace(tj);
  const norm = (t: string): string => (squash ? t.replace(/\s+/g, '') : t);
  const unkId = tok.model?.unk_token_id;
  const out: Loss[] = [];
  for (const text of [...PROBES, LLAMA_CPP_CHK_TXT]) {
    const ids = fastIds(tok, text);
    if (ids.length === 0) continue;
    const decoded = tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: cleanup });
    const expected = applyNormalizer(tj?.normalizer as Json, text);
    if (norm(decoded) === norm(expected) || norm(decoded) === norm(text)) continue;
    out.push({
      text,
      decoded,
      ids,
      tokens: tokenStrings(tok, ids),
      unkCount: unkId === undefined ? 0 : ids.filter((i) => i === unkId).length,
    });
  }
  return out;
}

/**
 * Decides whether tokenizer.json decodes its own encoding of the probe corpus back to the text (modulo its
 * normalizer), and whether `clean_up_tokenization_spaces` rewrites text. Emits TOKENIZER_ROUNDTRIP.
 */
export const tokenizerRoundtrip: Check = {
  id: 'tokenizer-roundtrip',
  title: 'decode(encode(text)) gives the text back',
  queue: 'checks',
  codes: ['TOKENIZER_ROUNDTRIP'],
  run({ release: snap, memo }) {
    const fast = fastTokenizer(memo, snap);
    if (fast.state !== 'ok')
      return { status: 'skipped', reason: unusable('tokenizer.json', fast) ?? 'no tokenizer.json' };
    const tok = fast.value;
    // Lead with losses on visible text: a string of spaces is a poor headline.
    const lost = losses(memo, snap, tok, false).sort((a, b) => Number(!/\S/.test(a.text)) - Number(!/\S/.test(b.text)));
    const findings: FindingInput[] = [];
    if (lost.length) {
      const unk = lost.reduce((n, l) => n + l.unkCount, 0);
      findings.push({
        code: 'TOKENIZER_ROUNDTRIP',
        severity: 'warning',
        title: `tokenizer.json does not give back ${lost.length} probe string(s), e.g. ${JSON.stringify(lost[0].text)} → ${JSON.stringify(lost[0].decoded)}`,
        detail: `Encoding then decoding changes text beyond what the normalizer documents${unk ? `; ${unk} character(s) became the unknown token (is byte_fallback off?)` : ''}. The model cannot read or write such text faithfully.`,
        evidence: {
          examples: lost.slice(0, 8),
          normalizer: jsonObject(snap, 'tokenizer.json', memo)?.normalizer ?? null,
        },
        files: ['tokenizer.json'],
      });
    }
    if (jsonObject(snap, 'tokenizer_config.json')?.clean_up_tokenization_spaces === true) {
      const faithful = new Set(lost.map((l) => l.text));
      const cleaned = losses(memo, snap, tok, true).filter((l) => !faithful.has(l.text));
      if (cleaned.length) {
        findings.push({
          code: 'TOKENIZER_ROUNDTRIP',
          severity: 'info',
          title: `clean_up_tokenization_spaces is true: decode rewrites ${JSON.stringify(cleaned[0].text)} as ${JSON.stringify(cleaned[0].decoded)}`,
          detail:
            'transformers removes the space before punctuation and contractions when decoding with this setting, so decoded text differs from what the model generated. Set clean_up_tokenization_spaces to false.',
          evidence: { field: 'clean_up_tokenization_spaces', examples: cleaned.slice(0, 5) },
          files: ['tokenizer_config.json'],
        });
      }
    }
    return { status: 'findings', findings };
  },
};
