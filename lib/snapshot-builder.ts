import { parse as parseYaml } from 'yaml';
import type { Snapshot } from '../checks/types.ts';
import type { ByteSource, SourceFile } from './byte-source.ts';
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
  const snap: Snapshot = {
    repo: ident.repo,
    sha: ident.sha,
    files,
    texts: {},
    binaries: {},
    omitted: {},
    safetensors: null,
    cardData: ident.cardData ?? null,
    ...(ident.origin ? { origin: ident.origin } : {}),
  };
  const wanted = files.filter((f) => isWantedText(f.path) || WANTED_BINARIES.has(f.path));
  await mapLimit(wanted, 8, async (f: SourceFile) => {
    if (f.size > limits.maxFileBytes) {
      snap.omitted[f.path] = `${f.size} bytes exceeds the ${limits.maxFileBytes}-byte limit`;
      return;
    }
    try {
      if (WANTED_BINARIES.has(f.path))
        snap.binaries[f.path] = Buffer.from(await source.readRange(f.path, 0, f.size)).toString('base64');
      else snap.texts[f.path] = await source.readText(f.path);
    } catch (e) {
      snap.omitted[f.path] = `could not be read: ${(e as Error).message}`;
    }
  });
  const indexText = snap.texts['model.safetensors.index.json'] ?? null;
  snap.safetensors = await readSafetensorsInventory(source, files, indexText);
  if (!snap.cardData && snap.texts['README.md']) snap.cardData = parseCardData(snap.texts['README.md']);
  return snap;
}

async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}
