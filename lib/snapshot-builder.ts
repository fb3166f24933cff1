import { parse as parseYaml } from 'yaml';
import type { Snapshot } from '../checks/types.ts';
import { SourceError } from './byte-source.ts';
import type { ByteSource, SourceFile } from './byte-source.ts';
import { jsonShape } from './bounded-json.ts';
import { readSafetensorsInventory } from './safetensors-header.ts';

export interface SnapshotLimits {
  /** Largest text or binary file kept verbatim (bytes); larger ones are listed in `omitted`. */
  maxFileBytes: number;
}

/** Text files the checks read, by exact name or pattern. */
function isWantedText(path: string): boolean {
  if (path.includes('/')) return false;
  return (
    path.endsWith('.json') ||
    path.endsWith('.jinja') ||
    path === 'README.md' ||
    /^(modeling|configuration|tokenization)_.*\.py$/.test(path)
  );
}

const WANTED_BINARIES = new Set(['tokenizer.model']);

/**
 * Bounds on JSON files, checked on the text before anything parses it. Real files are far inside them: configs
 * are a few kB (id2label maps of 21k ImageNet classes ~1 MB), tokenizer_config.json ~1 MB with 6k added tokens
 * (Gemma 3), model.safetensors.index.json ~10 MB for ~100k tensors (DeepSeek-V3's 163 shards); tokenizer.json
 * keeps the general file cap (Gemma 3's is 33 MB). Nesting: real files are under 10 levels deep.
 */
export const JSON_LIMITS = {
  defaultBytes: 4 << 20,
  largeBytes: 32 << 20,
  maxDepth: 64,
  /** Added tokens in added_tokens.json, tokenizer_config.json or tokenizer.json (real: 22 Qwen2.5 … 32k image tokens). */
  maxAddedTokens: 65_536,
};

/** The byte cap of a JSON file by name. */
function jsonCap(path: string, maxFileBytes: number): number {
  if (path === 'tokenizer.json') return maxFileBytes;
  if (path === 'tokenizer_config.json' || path.endsWith('.index.json'))
    return Math.min(maxFileBytes, JSON_LIMITS.largeBytes);
  return Math.min(maxFileBytes, JSON_LIMITS.defaultBytes);
}

/** Where each file lists its added tokens: a top-level key, or the top-level object itself. */
const ADDED_TOKENS_AT: Record<string, string | null> = {
  'added_tokens.json': null,
  'tokenizer_config.json': 'added_tokens_decoder',
  'tokenizer.json': 'added_tokens',
};

type Verdict = { keep: true } | { keep: false; kind: 'malformed' | 'too_large'; reason: string };

/** Whether a JSON text may be handed to the checks (which parse it), from its shape measured without parsing. */
function admitJson(path: string, text: string): Verdict {
  const shape = jsonShape(text, JSON_LIMITS.maxDepth);
  if (shape.tooDeep)
    return { keep: false, kind: 'malformed', reason: `nested deeper than ${JSON_LIMITS.maxDepth} levels` };
  if (path in ADDED_TOKENS_AT) {
    const at = ADDED_TOKENS_AT[path];
    const n = at === null ? shape.topEntries : (shape.entries[at] ?? 0);
    if (n > JSON_LIMITS.maxAddedTokens)
      return {
        keep: false,
        kind: 'too_large',
        reason: `${n} added tokens, over the ${JSON_LIMITS.maxAddedTokens} bound`,
      };
  }
  return { keep: true };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** YAML front matter of a model card (the `---` block at the top of README.md). */
export function parseCardData(readme: string): Record<string, unknown> | null {
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(readme);
  if (!m) return null;
  try {
    const v = parseYaml(m[1]) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Builds the snapshot of one revision from a byte source: the file list, small files verbatim, and every
 * safetensors header by ranged reads. Weight data is never read here.
 * Throws SourceError when the file list itself cannot be read.
 */
export async function buildSnapshot(
  source: ByteSource,
  ident: { repo: string; sha: string; cardData?: Record<string, unknown> | null; origin?: 'hub' | 'local' },
  limits: SnapshotLimits,
): Promise<Snapshot> {
  const files = await source.listFiles();
  const skipped = source.skippedFiles?.() ?? [];
  const snap: Snapshot = {
    repo: ident.repo,
    sha: ident.sha,
    files,
    texts: {},
    binaries: {},
    omitted: {},
    rejected: {},
    safetensors: null,
    cardData: ident.cardData ?? null,
    ...(ident.origin ? { origin: ident.origin } : {}),
  };
  const wanted = files.filter((f) => isWantedText(f.path) || WANTED_BINARIES.has(f.path));
  await mapLimit(wanted, 8, (f: SourceFile) => readWanted(source, snap, f, limits));
  for (const { path, reason } of skipped) snap.rejected![path] = { kind: 'skipped', reason };
  const indexText = snap.texts['model.safetensors.index.json'] ?? null;
  // A header that could not be read (the Hub failing, a file that changed, a cut connection) fails the snapshot
  // like any other read: the inventory records such errors, and checks must never run on a partial inventory.
  const failures: SourceError[] = [];
  snap.safetensors = await readSafetensorsInventory(recordingFailures(source, failures), files, indexText);
  if (failures.length) throw failures[0];
  if (!snap.cardData && snap.texts['README.md']) snap.cardData = parseCardData(snap.texts['README.md']);
  return snap;
}

/**
 * Reads one wanted file into the snapshot: binaries verbatim; text decoded as strict UTF-8 where it must be
 * (JSON and templates: loaders fail on anything else); JSON measured before it is kept. What is refused goes to
 * `omitted` (too large: FILE_TOO_LARGE) or `rejected` (malformed: FILE_MALFORMED), never parsed.
 */
async function readWanted(source: ByteSource, snap: Snapshot, f: SourceFile, limits: SnapshotLimits): Promise<void> {
  const isJson = f.path.endsWith('.json');
  const cap = isJson ? jsonCap(f.path, limits.maxFileBytes) : limits.maxFileBytes;
  if (f.size > cap) {
    snap.omitted[f.path] = `${f.size} bytes exceeds the ${cap}-byte limit`;
    return;
  }
  let bytes: Uint8Array;
  try {
    bytes = await source.readRange(f.path, 0, f.size);
  } catch (e) {
    // Only a file the Hub says is not there (404) is left out, with the reason; any other failure (rate limit,
    // server error, a cut or slow connection, a file that changed mid-read) fails the snapshot: the release job
    // retries, then fails with this reason, rather than checking partial data.
    if (!isAbsent(e)) throw asSourceError(e, f.path);
    snap.omitted[f.path] = `could not be read: ${(e as Error).message}`;
    return;
  }
  if (WANTED_BINARIES.has(f.path)) {
    snap.binaries[f.path] = Buffer.from(bytes).toString('base64');
    return;
  }
  let text: string;
  try {
    text = isJson || f.path.endsWith('.jinja') ? strictUtf8.decode(bytes) : new TextDecoder().decode(bytes);
  } catch {
    snap.rejected![f.path] = { kind: 'malformed', reason: 'not valid UTF-8' };
    return;
  }
  const verdict = isJson ? admitJson(f.path, text) : ({ keep: true } as const);
  if (verdict.keep) snap.texts[f.path] = text;
  else if (verdict.kind === 'too_large') snap.omitted[f.path] = verdict.reason;
  else snap.rejected![f.path] = { kind: 'malformed', reason: verdict.reason };
}

/** The source said the file is not there: a reason to leave it out, never evidence of anything. */
function isAbsent(e: unknown): boolean {
  return e instanceof SourceError && e.status === 404;
}

/** A read failure as a SourceError naming the file (byte sources throw SourceError already; anything else is wrapped). */
function asSourceError(e: unknown, path: string): SourceError {
  if (e instanceof SourceError) return e;
  return new SourceError(`cannot read ${path}: ${(e as Error)?.message ?? String(e)}`, path);
}

/** The same source, remembering every read failure other than a 404 in `failures` (and still throwing it). */
function recordingFailures(source: ByteSource, failures: SourceError[]): ByteSource {
  const rec = async <T>(path: string, p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      if (!isAbsent(e)) failures.push(asSourceError(e, path));
      throw e;
    }
  };
  return {
    label: source.label,
    listFiles: () => source.listFiles(),
    readRange: (path, start, end) => rec(path, source.readRange(path, start, end)),
    readText: (path) => rec(path, source.readText(path)),
    stream: (path, start, end) => source.stream(path, start, end),
  };
}

async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}
