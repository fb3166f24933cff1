/**
 * TOKENIZER_CHANGED: the release's tokenizer against the previous revision of the repo and the declared base
 * model: changed ids of shared tokens, a changed pre-tokenizer or normalizer, different ids for the probe corpus
 * (llama.cpp keys its pre-tokenizer on that hash, so GGUF conversion breaks), added or removed special tokens.
 */
import { jsonObject } from '../snapshot-files.ts';
import type { Check, CheckMemo, FindingInput, Snapshot } from '../types.ts';
import { tokenizerFingerprint } from './fingerprint.ts';
import type { TokenizerFingerprint } from './fingerprint.ts';
import { PROBES } from './probe-corpus.ts';
import { fastIds, fastTokenizer } from './tokenizers.ts';

/** JSON with sorted keys, so key order alone is no change. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/**
 * Whether both revisions have the same tokenizer: identical files, or a tokenizer.json that only differs in
 * formatting (same vocabulary, merges and pipeline). Avoids loading the other tokenizer (~0.5 s for 128k tokens).
 */
function sameTokenizer(memo: CheckMemo, a: Snapshot, b: Snapshot): boolean {
  if (a.binaries['tokenizer.model'] !== b.binaries['tokenizer.model']) return false;
  if (a.texts['tokenizer.json'] === b.texts['tokenizer.json']) return true;
  const ja = jsonObject(a, 'tokenizer.json', memo);
  const jb = jsonObject(b, 'tokenizer.json', memo);
  if (!ja || !jb) return false;
  const { model: ma, ...ra } = ja as { model?: Record<string, unknown> };
  const { model: mb, ...rb } = jb as { model?: Record<string, unknown> };
  if (!ma || !mb || canonical(ra) !== canonical(rb)) return false;
  const { vocab: va, merges: ga, ...oa } = ma;
  const { vocab: vb, merges: gb, ...ob } = mb;
  if (canonical(oa) !== canonical(ob)) return false;
  const flat = (m: unknown): string[] =>
    Array.isArray(m) ? m.map((x) => (Array.isArray(x) ? x.join(' ') : String(x))) : [];
  const fa = flat(ga);
  const fb = flat(gb);
  if (fa.length !== fb.length || fa.some((x, i) => x !== fb[i])) return false;
  const da = vocabOf(memo, a);
  const db = vocabOf(memo, b);
  const keys = Object.keys(da);
  return (
    keys.length === Object.keys(db).length &&
    keys.every((k) => da[k] === db[k]) &&
    (Array.isArray(va) || Array.isArray(vb) ? canonical(va) === canonical(vb) : true)
  );
}

function vocabOf(memo: CheckMemo, s: Snapshot): Record<string, number> {
  const v = (jsonObject(s, 'tokenizer.json', memo)?.model as { vocab?: unknown } | undefined)?.vocab;
  if (Array.isArray(v))
    return Object.fromEntries((v as unknown[]).map((e, i) => [Array.isArray(e) ? String(e[0]) : '', i]));
  return v && typeof v === 'object' ? (v as Record<string, number>) : {};
}

interface Diff {
  changedIds: { token: string; before: number; after: number }[];
  changedIdCount: number;
  added: number;
  removed: number;
  probes: { text: string; before: number[]; after: number[] }[];
  preTokenizer: { before: unknown; after: unknown } | null;
  normalizer: { before: unknown; after: unknown } | null;
  specials: {
    added: Record<string, number>;
    removed: Record<string, number>;
    changed: { token: string; before: number; after: number }[];
  };
}

function diff(memo: CheckMemo, now: Snapshot, then: Snapshot, a: TokenizerFingerprint, b: TokenizerFingerprint): Diff {
  const va = vocabOf(memo, now);
  const vb = vocabOf(memo, then);
  const d: Diff = {
    changedIds: [],
    changedIdCount: 0,
    added: 0,
    removed: 0,
    probes: [],
    preTokenizer: null,
    normalizer: null,
    specials: { added: {}, removed: {}, changed: [] },
  };
  for (const [t, id] of Object.entries(va)) {
    const old = vb[t];
    if (old === undefined) d.added++;
    else if (old !== id && d.changedIdCount++ < 20) d.changedIds.push({ token: t, before: old, after: id });
  }
  for (const t of Object.keys(vb)) if (va[t] === undefined) d.removed++;
  if (a.hash !== b.hash) {
    const fa = fastTokenizer(memo, now);
    const fb = fastTokenizer(memo, then);
    if (fa.state === 'ok' && fb.state === 'ok') {
      for (const text of PROBES) {
        const after = fastIds(fa.value, text);
        const before = fastIds(fb.value, text);
        if (after.join() !== before.join() && d.probes.length < 8) d.probes.push({ text, before, after });
      }
    }
  }
  if (canonical(a.preTokenizer) !== canonical(b.preTokenizer))
    d.preTokenizer = { before: b.preTokenizer, after: a.preTokenizer };
  if (canonical(a.normalizer) !== canonical(b.normalizer)) d.normalizer = { before: b.normalizer, after: a.normalizer };
  for (const [t, id] of Object.entries(a.specialTokens)) {
    if (!(t in b.specialTokens)) d.specials.added[t] = id;
    else if (b.specialTokens[t] !== id) d.specials.changed.push({ token: t, before: b.specialTokens[t], after: id });
  }
  for (const [t, id] of Object.entries(b.specialTokens)) if (!(t in a.specialTokens)) d.specials.removed[t] = id;
  return d;
}

function finding(
  label: string,
  then: Snapshot,
  a: TokenizerFingerprint,
  b: TokenizerFingerprint,
  d: Diff,
): FindingInput | null {
  const what: string[] = [];
  if (d.changedIdCount) what.push(`${d.changedIdCount} shared token(s) changed id`);
  if (d.preTokenizer) what.push('the pre-tokenizer changed');
  if (d.normalizer) what.push('the normalizer changed');
  if (a.hash !== b.hash) what.push(`the probe ids changed (hash ${b.hash.slice(0, 12)}… → ${a.hash.slice(0, 12)}…)`);
  const serious = what.length > 0;
  const sa = Object.keys(d.specials.added).length;
  const sr = Object.keys(d.specials.removed).length;
  if (sa) what.push(`${sa} special token(s) added`);
  if (sr) what.push(`${sr} special token(s) removed`);
  if (d.specials.changed.length) what.push(`${d.specials.changed.length} special token(s) changed id`);
  if (what.length === 0) return null;
  return {
    code: 'TOKENIZER_CHANGED',
    severity: serious || d.specials.changed.length ? 'warning' : 'info',
    title: `Tokenizer differs from the ${label} (${then.repo}@${then.sha.slice(0, 12)}): ${what.join(', ')}`,
    detail: `Compared with the ${label}, ${what.join('; ')}. Text now maps to different ids: fine-tunes, caches and GGUF conversions made for the other tokenizer no longer match. If this is intended, say so in the model card.`,
    evidence: {
      against: { label, repo: then.repo, sha: then.sha },
      hash: { before: b.hash, after: a.hash },
      vocab: { added: d.added, removed: d.removed, changedIdCount: d.changedIdCount, changedIds: d.changedIds },
      probes: d.probes,
      preTokenizer: d.preTokenizer,
      normalizer: d.normalizer,
      specialTokens: d.specials,
    },
    files: ['tokenizer.json'],
  };
}

/**
 * Compares the release's tokenizer.json (ids, pre-tokenizer, normalizer, special tokens, llama.cpp probe hash) with
 * the previous revision's and the base model's. Emits TOKENIZER_CHANGED; skipped without a comparison target.
 */
export const tokenizerChanged: Check = {
  id: 'tokenizer-changed',
  title: 'Tokenizer unchanged against the previous revision and the base model',
  queue: 'checks',
  codes: ['TOKENIZER_CHANGED'],
  run({ release, previous, base, memo }) {
    const targets = [
      { label: 'previous revision', snap: previous },
      { label: 'base model', snap: base },
    ].filter((t): t is { label: string; snap: Snapshot } => !!t.snap);
    if (targets.length === 0)
      return { status: 'skipped', reason: 'no previous revision or base model to compare with' };
    if (release.texts['tokenizer.json'] === undefined && release.binaries['tokenizer.model'] === undefined)
      return { status: 'skipped', reason: 'no tokenizer.json or tokenizer.model' };
    const findings: FindingInput[] = [];
    let compared = 0;
    for (const t of targets) {
      if (sameTokenizer(memo, release, t.snap)) {
        compared++;
        continue;
      }
      const a = tokenizerFingerprint(memo, release);
      const b = tokenizerFingerprint(memo, t.snap);
      if (!a || !b) continue;
      compared++;
      const f = finding(t.label, t.snap, a, b, diff(memo, release, t.snap, a, b));
      if (f) findings.push(f);
    }
    if (compared === 0) return { status: 'skipped', reason: 'no loadable tokenizer.json on both sides to compare' };
    return { status: 'findings', findings };
  },
};
