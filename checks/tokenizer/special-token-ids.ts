/**
 * SPECIAL_TOKEN_ID_MISMATCH: bos/eos/pad/unk as each file declares them must agree — token strings in
 * tokenizer_config.json and special_tokens_map.json, ids in config.json and generation_config.json (lists allowed),
 * what tokenizer.json's post-processor inserts, and the ids the added-token lists give each token. Runtimes read
 * different files (generate: generation_config; vLLM: tokenizer + generation_config; llama.cpp's converter:
 * tokenizer_config), so disagreeing files give different models in different runtimes.
 */
import { jsonObject } from '../snapshot-files.ts';
import type { Check, CheckMemo, FindingInput, Severity, Snapshot } from '../types.ts';
import { addedTokenConflicts } from './added-token-sources.ts';
import type { Declared, SpecialRole } from './special-tokens.ts';
import { addedTokens, declarations } from './special-tokens.ts';
import { fastTokenizer } from './tokenizers.ts';

const TOKENIZER_FILES = new Set(['tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.json']);

/** The BOS/EOS tokenizer.json's post-processor inserts around a plain text (add_special_tokens=True). */
function postProcessorDeclarations(memo: CheckMemo, snap: Snapshot, role: SpecialRole): Declared[] {
  if (role !== 'bos' && role !== 'eos') return [];
  const fast = fastTokenizer(memo, snap);
  if (fast.state !== 'ok') return [];
  const tok = fast.value;
  const plain: number[] = tok.encode('Hello', { add_special_tokens: false }).ids;
  const full: number[] = tok.encode('Hello', { add_special_tokens: true }).ids;
  const start = full.findIndex((_, i) => full.slice(i, i + plain.length).join() === plain.join());
  if (start < 0) return [];
  const ids = role === 'bos' ? full.slice(0, start) : full.slice(start + plain.length);
  if (ids.length !== 1) return [];
  return [
    {
      file: 'tokenizer.json',
      field: role === 'bos' ? 'post_processor (inserted before text)' : 'post_processor (inserted after text)',
      token: tok.id_to_token(ids[0]) ?? null,
      ids,
    },
  ];
}

/** How bad a disagreement between two declarations of a role is. */
function pairSeverity(role: SpecialRole, a: Declared, b: Declared): Severity | null {
  const shared = a.ids.filter((i) => b.ids.includes(i));
  if (role === 'eos') {
    // Lists are sets of stop ids: a single id inside another file's list is fine.
    if (shared.length === 0) return 'critical';
    const sub = a.ids.every((i) => b.ids.includes(i)) || b.ids.every((i) => a.ids.includes(i));
    return sub ? null : 'warning';
  }
  if (shared.length > 0) return null;
  if (role === 'bos') return TOKENIZER_FILES.has(a.file) && TOKENIZER_FILES.has(b.file) ? 'critical' : 'warning';
  return 'warning';
}

const rank: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };
const show = (d: Declared): string =>
  `${d.file} ${d.field} = ${d.token ?? d.ids.join(', ')}${d.token !== null && d.ids.length ? ` (id ${d.ids.join(', ')})` : ''}`;

/**
 * Whether the model vocabulary can be searched (tokenizer.json with its model.vocab). Without it a token string that
 * is not among the added tokens may well be in the vocabulary: an absent file is no evidence of a missing token.
 */
function vocabularyKnown(memo: CheckMemo, snap: Snapshot): boolean {
  const vocab = (jsonObject(snap, 'tokenizer.json', memo)?.model as { vocab?: unknown } | undefined)?.vocab;
  return vocab !== null && typeof vocab === 'object';
}

function roleFinding(memo: CheckMemo, snap: Snapshot, role: SpecialRole): FindingInput[] {
  const decls = [...declarations(snap, role, memo), ...postProcessorDeclarations(memo, snap, role)];
  const out: FindingInput[] = [];
  const unresolved = vocabularyKnown(memo, snap)
    ? decls.filter((x) => x.token !== null && x.ids.length === 0 && TOKENIZER_FILES.has(x.file))
    : [];
  for (const d of unresolved) {
    out.push({
      code: 'SPECIAL_TOKEN_ID_MISMATCH',
      severity: role === 'bos' || role === 'eos' ? 'critical' : 'warning',
      title: `${d.file} ${d.field} ${d.token} is not a token of the vocabulary`,
      detail: `${d.token} is in neither tokenizer.json nor the added-token lists; transformers adds it as a new token with an id past the trained vocabulary.`,
      evidence: { role, declaration: d, declarations: decls },
      files: [d.file],
    });
  }
  const withIds = decls.filter((d) => d.ids.length > 0);
  const pairs: { a: Declared; b: Declared; severity: Severity }[] = [];
  for (let i = 0; i < withIds.length; i++) {
    for (let j = i + 1; j < withIds.length; j++) {
      const severity = pairSeverity(role, withIds[i], withIds[j]);
      if (severity) pairs.push({ a: withIds[i], b: withIds[j], severity });
    }
  }
  if (pairs.length === 0) return out;
  const severity = pairs.reduce<Severity>((s, p) => (rank[p.severity] > rank[s] ? p.severity : s), 'info');
  out.push({
    code: 'SPECIAL_TOKEN_ID_MISMATCH',
    severity,
    title: `The ${role} token differs between files: ${show(pairs[0].a)} vs ${show(pairs[0].b)}`,
    detail: `Runtimes read the ${role} token from different files, so they disagree on it. ${pairs.map((p) => `${show(p.a)} vs ${show(p.b)}`).join('; ')}.`,
    evidence: {
      role,
      declarations: withIds,
      disagreements: pairs.map((p) => ({ a: p.a, b: p.b, severity: p.severity })),
    },
    files: [...new Set(pairs.flatMap((p) => [p.a.file, p.b.file]))],
  });
  return out;
}

const ROLES: SpecialRole[] = ['bos', 'eos', 'pad', 'unk'];

/**
 * One token string has one id. When the tokenizer files name the same string for two roles (pad "</s>" and eos
 * "</s>") and config.json or generation_config.json gives the two roles disjoint ids, one of those ids is wrong,
 * whatever the vocabulary says: decidable without tokenizer.json.
 */
function sharedStringConflicts(memo: CheckMemo, snap: Snapshot): FindingInput[] {
  const byRole = ROLES.map((role) => {
    const d = declarations(snap, role, memo);
    const strings = new Set(d.filter((x) => TOKENIZER_FILES.has(x.file) && x.token).map((x) => x.token as string));
    const ids = new Map(
      d
        .filter((x) => !TOKENIZER_FILES.has(x.file))
        .map((x) => [x.file, x.ids.filter((i) => i >= 0)] as const)
        .filter(([, ids]) => ids.length > 0),
    );
    return { role, strings, ids };
  });
  const out: FindingInput[] = [];
  for (let i = 0; i < byRole.length; i++) {
    for (let j = i + 1; j < byRole.length; j++) {
      const a = byRole[i];
      const b = byRole[j];
      const token = [...a.strings].find((s) => b.strings.has(s));
      if (token === undefined) continue;
      const file = [...a.ids.keys()].find(
        (f) => b.ids.has(f) && !a.ids.get(f)!.some((id) => b.ids.get(f)!.includes(id)),
      );
      if (file === undefined) continue;
      const aIds = a.ids.get(file)!;
      const bIds = b.ids.get(file)!;
      out.push({
        code: 'SPECIAL_TOKEN_ID_MISMATCH',
        severity: 'warning',
        title: `${token} is the ${a.role} and the ${b.role} token, but ${file} gives them different ids (${a.role}_token_id ${aIds.join(', ')}, ${b.role}_token_id ${bIds.join(', ')})`,
        detail: `The tokenizer files name ${token} for both roles, so both must have its one id; ${file} says otherwise, and one of the two ids names another token. Runtimes that read ids (generate, vLLM) and those that read strings (the tokenizer) then use different tokens.`,
        evidence: {
          token,
          roles: [a.role, b.role],
          file,
          ids: { [a.role]: aIds, [b.role]: bIds },
          declarations: [...declarations(snap, a.role, memo), ...declarations(snap, b.role, memo)],
        },
        files: [
          file,
          ...new Set(
            declarations(snap, a.role, memo)
              .filter((x) => TOKENIZER_FILES.has(x.file) && x.token === token)
              .map((x) => x.file),
          ),
        ],
      });
    }
  }
  return out;
}

/**
 * Decides whether bos/eos/pad/unk agree across tokenizer_config.json, special_tokens_map.json, config.json,
 * generation_config.json, tokenizer.json's post-processor and the added-token lists. Emits SPECIAL_TOKEN_ID_MISMATCH.
 */
export const specialTokenIds: Check = {
  id: 'special-token-ids',
  title: 'bos/eos/pad/unk agree across config, generation_config and tokenizer files',
  queue: 'checks',
  codes: ['SPECIAL_TOKEN_ID_MISMATCH'],
  run({ release: snap, memo }) {
    const roles = ROLES;
    if (roles.every((r) => declarations(snap, r, memo).length === 0))
      return { status: 'skipped', reason: 'no special tokens declared in any file' };
    const findings = [...roles.flatMap((r) => roleFinding(memo, snap, r)), ...sharedStringConflicts(memo, snap)];
    const declared = new Set(
      roles.flatMap((r) => declarations(snap, r, memo).map((d) => d.token)).filter((t): t is string => t !== null),
    );
    const added = addedTokens(snap, memo);
    for (const c of addedTokenConflicts(snap, memo)) {
      const important = c.contents.some((x) => declared.has(x)) || c.ids.some((i) => added.special.has(i));
      findings.push({
        code: 'SPECIAL_TOKEN_ID_MISMATCH',
        severity: important ? 'critical' : 'warning',
        title: c.title,
        detail: `${c.title}. Slow and fast tokenizers, and tools that read only one of these files, map the token differently. Regenerate the stale file.`,
        evidence: { entries: c.entries },
        files: [...new Set(c.entries.map((e) => e.file))],
      });
    }
    return { status: 'findings', findings };
  },
};
