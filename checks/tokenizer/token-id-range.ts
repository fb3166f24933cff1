/**
 * TOKEN_ID_OUT_OF_RANGE / VOCAB_SIZE_MISMATCH: every id the tokenizer can produce and every special-token id in
 * the configs must index a row of the token embedding (its row count from the safetensors header, else
 * config.json vocab_size). An id past the last row crashes with an index error on GPU or reads garbage; ids with no
 * token (holes) and vocabularies of different sizes are how stale tokenizer files show (Yi-1.5 #32).
 */
import { jsonObject } from '../snapshot-files.ts';
import type { Check, CheckMemo, FindingInput, Snapshot } from '../types.ts';
import { tokenMatrices } from '../weights/tensor-names.ts';
import { usedTokenIds } from '../weights/token-usage.ts';
import { addedTokenEntries } from './added-token-sources.ts';
import { declarations } from './special-tokens.ts';
import type { SpecialRole } from './special-tokens.ts';
import { spmModel } from './tokenizers.ts';

interface Rows {
  rows: number;
  file: string;
  field: string;
}

interface IdSource {
  id: number;
  token: string | null;
  file: string;
  field: string;
}

/** The embedding's row count: the safetensors header when there is one, else config.json vocab_size. */
function embeddingRows(snap: Snapshot): { weights: Rows | null; config: Rows | null } {
  const m = tokenMatrices(snap);
  const weights =
    m.embedding && m.embedding.shape.length === 2
      ? { rows: m.embedding.shape[0], file: m.embedding.file, field: `${m.embedding.name} shape[0]` }
      : null;
  const cfg = jsonObject(snap, 'config.json');
  const text =
    cfg?.text_config && typeof cfg.text_config === 'object' ? (cfg.text_config as Record<string, unknown>) : null;
  const vs =
    typeof cfg?.vocab_size === 'number'
      ? { v: cfg.vocab_size, f: 'vocab_size' }
      : typeof text?.vocab_size === 'number'
        ? { v: text.vocab_size, f: 'text_config.vocab_size' }
        : null;
  return { weights, config: vs ? { rows: vs.v, file: 'config.json', field: vs.f } : null };
}

interface JsonIds {
  /** present[id] is 1 when tokenizer.json assigns the id. */
  present: Uint8Array;
  max: number;
  count: number;
  /** Size of the model vocabulary alone (without added tokens). */
  base: number;
  tokenOf(id: number): string | null;
}

/** The ids tokenizer.json assigns: its model vocabulary and its added tokens (a bitmap: 128k+ entries). */
function tokenizerJsonIds(memo: CheckMemo, snap: Snapshot): JsonIds | null {
  const tj = jsonObject(snap, 'tokenizer.json', memo);
  const vocab = (tj?.model as { vocab?: unknown } | undefined)?.vocab;
  if (!vocab || typeof vocab !== 'object') return null;
  const ids: number[] = [];
  if (Array.isArray(vocab)) for (let i = 0; i < vocab.length; i++) ids.push(i);
  else
    for (const t in vocab) {
      const id = (vocab as Record<string, unknown>)[t];
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0) ids.push(id);
    }
  const base = ids.length;
  const added = addedTokenEntries(snap, memo).filter((e) => e.file === 'tokenizer.json' && e.id >= 0);
  for (const e of added) ids.push(e.id);
  let max = -1;
  for (const id of ids) if (id > max) max = id;
  const present = new Uint8Array(max + 1);
  let count = 0;
  for (const id of ids) {
    if (present[id]) continue;
    present[id] = 1;
    count++;
  }
  const tokenOf = (id: number): string | null => {
    const a = added.find((e) => e.id === id);
    if (a) return a.content;
    if (Array.isArray(vocab)) return Array.isArray(vocab[id]) ? String(vocab[id][0]) : null;
    for (const t in vocab) if ((vocab as Record<string, unknown>)[t] === id) return t;
    return null;
  };
  return { present, max, count, base, tokenOf };
}

/** Every id at or past `rows` that some file can make the model see, with where it comes from (at most `limit`). */
function idsPast(
  memo: CheckMemo,
  snap: Snapshot,
  tj: JsonIds | null,
  rows: number,
  limit = 20,
): { count: number; max: number; ids: IdSource[] } {
  const out: IdSource[] = [];
  let count = 0;
  let max = -1;
  const note = (id: number, token: () => string | null, file: string, field: string): void => {
    if (id < rows) return;
    max = Math.max(max, id);
    if (count++ < limit) out.push({ id, token: token(), file, field });
  };
  if (tj)
    for (let id = rows; id <= tj.max; id++)
      if (tj.present[id]) note(id, () => tj.tokenOf(id), 'tokenizer.json', 'model.vocab / added_tokens');
  const spm = spmModel(memo, snap);
  if (spm.state === 'ok')
    for (let id = rows; id < spm.value.pieces.length; id++)
      note(id, () => spm.value.pieces[id].piece, 'tokenizer.model', 'pieces');
  for (const e of addedTokenEntries(snap, memo))
    if (e.file !== 'tokenizer.json')
      note(e.id, () => e.content, e.file, e.file === 'added_tokens.json' ? e.content : 'added_tokens_decoder');
  for (const role of ['bos', 'eos', 'pad', 'unk'] as SpecialRole[]) {
    for (const d of declarations(snap, role, memo)) for (const id of d.ids) note(id, () => d.token, d.file, d.field);
  }
  return { count, max, ids: out };
}

/** Whether the release has any token ids to check at all. */
function hasIds(memo: CheckMemo, snap: Snapshot, tj: JsonIds | null): boolean {
  if (tj || spmModel(memo, snap).state === 'ok' || addedTokenEntries(snap, memo).length > 0) return true;
  return (['bos', 'eos', 'pad', 'unk'] as SpecialRole[]).some((r) =>
    declarations(snap, r, memo).some((d) => d.ids.length > 0),
  );
}

/**
 * Ids past the embedding that the release uses at inference time (bos/eos/pad/unk in any file, added tokens its
 * chat template emits), with why: these crash or corrupt every conversation; unused ones only text that spells them.
 */
function usedPast(memo: CheckMemo, snap: Snapshot, rows: number): { id: number; why: string[] }[] {
  const used = usedTokenIds(snap);
  for (const d of declarations(snap, 'unk', memo))
    for (const id of d.ids) used.set(id, [...(used.get(id) ?? []), `unk (${d.file} ${d.field})`]);
  return [...used]
    .filter(([id]) => id >= rows)
    .sort(([a], [b]) => a - b)
    .map(([id, why]) => ({ id, why }));
}

function outOfRange(memo: CheckMemo, snap: Snapshot, tj: JsonIds | null, rows: Rows): FindingInput | null {
  const bad = idsPast(memo, snap, tj, rows.rows);
  if (bad.count === 0) return null;
  const files = [...new Set(bad.ids.map((b) => b.file))];
  const max = bad.max;
  const used = usedPast(memo, snap, rows.rows);
  return {
    code: 'TOKEN_ID_OUT_OF_RANGE',
    // Severity follows use: an id nothing in the release emits only fails on text that spells the token.
    severity: used.length ? 'critical' : 'warning',
    title: `${bad.count} token id(s) are past the embedding's ${rows.rows} rows (largest ${max})${used.length ? '' : '; none is used by the chat template or as bos/eos/pad/unk'}`,
    detail: `${rows.file} ${rows.field} gives ${rows.rows} rows, but ${files.join(', ')} use ids up to ${max}. Feeding such an id indexes past the embedding: a CUDA device-side assert, or garbage on CPU.${used.length ? ` The release itself uses ${used.map((u) => u.id).join(', ')} (${used[0].why.join('; ')}).` : ' Only input text that spells one of these tokens reaches them.'} Resize the embedding (and lm_head) or fix the tokenizer files.`,
    evidence: { rows, count: bad.count, ids: bad.ids, used },
    files: [...new Set([rows.file, ...files])],
  };
}

function sizeFindings(
  memo: CheckMemo,
  snap: Snapshot,
  rows: { weights: Rows | null; config: Rows | null },
  tj: JsonIds | null,
): FindingInput[] {
  const out: FindingInput[] = [];
  const vs = (
    title: string,
    detail: string,
    evidence: Record<string, unknown>,
    files: string[],
    severity: 'warning' | 'info' = 'warning',
  ): void => {
    out.push({ code: 'VOCAB_SIZE_MISMATCH', severity, title, detail, evidence, files });
  };
  const { weights, config } = rows;
  if (weights && config && weights.rows !== config.rows) {
    vs(
      `config.json ${config.field} is ${config.rows} but the embedding has ${weights.rows} rows`,
      'Loaders size the embedding from config.json; a checkpoint with another row count fails to load or is silently truncated.',
      { config, weights },
      [config.file, weights.file],
    );
  }
  const spm = spmModel(memo, snap);
  if (tj && spm.state === 'ok' && spm.value.pieces.length !== tj.base) {
    vs(
      `tokenizer.model has ${spm.value.pieces.length} pieces but tokenizer.json's vocabulary has ${tj.base}`,
      'The slow and fast tokenizers were built from different vocabularies; one of them is stale.',
      { tokenizerModel: spm.value.pieces.length, tokenizerJson: tj.base },
      ['tokenizer.model', 'tokenizer.json'],
    );
  }
  if (tj && tj.count > 0) {
    const max = tj.max;
    const holes: number[] = [];
    for (let i = 0; i <= max && holes.length < 20; i++) if (!tj.present[i]) holes.push(i);
    const missing = max + 1 - tj.count;
    if (missing > 0)
      vs(
        `${missing} id(s) below ${max} have no token in tokenizer.json`,
        'Ids with no token cannot be decoded and usually mean tokens were dropped when the file was regenerated.',
        { missing, firstMissing: holes, largestId: max },
        ['tokenizer.json'],
      );
    const rowsNow = weights ?? config;
    if (rowsNow && rowsNow.rows > max + 1) {
      vs(
        `The embedding has ${rowsNow.rows - max - 1} row(s) no token maps to (${rowsNow.rows} rows, tokenizer ids end at ${max})`,
        `Rows ${max + 1}..${rowsNow.rows - 1} are padding: never trained, and the model must never produce them (mask them out when sampling from the full lm_head).`,
        { rows: rowsNow, tokenizerSize: max + 1, aligned64: rowsNow.rows % 64 === 0 },
        [rowsNow.file, 'tokenizer.json'],
        'info',
      );
    }
  }
  return out;
}

/**
 * Decides whether every token id of tokenizer.json, tokenizer.model, the added-token lists and the configs indexes
 * a row of the embedding (safetensors header, else config.json vocab_size), and whether the vocabularies agree in
 * size. Emits TOKEN_ID_OUT_OF_RANGE and VOCAB_SIZE_MISMATCH.
 */
export const tokenIdRange: Check = {
  id: 'token-id-range',
  title: 'Token ids fit the embedding; vocabulary sizes agree',
  queue: 'checks',
  codes: ['TOKEN_ID_OUT_OF_RANGE', 'VOCAB_SIZE_MISMATCH'],
  run({ release: snap, memo }) {
    const tj = tokenizerJsonIds(memo, snap);
    const rows = embeddingRows(snap);
    if (!hasIds(memo, snap, tj)) return { status: 'skipped', reason: 'no tokenizer files or token ids to check' };
    const findings: FindingInput[] = [];
    const limit = rows.weights ?? rows.config;
    const oor = limit ? outOfRange(memo, snap, tj, limit) : null;
    if (oor) findings.push(oor);
    findings.push(...sizeFindings(memo, snap, rows, tj));
    if (!limit && findings.length === 0)
      return { status: 'skipped', reason: 'no embedding tensor and no vocab_size in config.json to compare ids with' };
    return { status: 'findings', findings };
  },
};
