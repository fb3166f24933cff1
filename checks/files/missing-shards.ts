import { jsonObject } from '../snapshot-files.ts';
import type { FindingInput, Snapshot } from '../types.ts';

const INDEX = 'model.safetensors.index.json';

/** A shard that `model.safetensors.index.json` names but the file list lacks, with how many tensors it holds. */
export interface MissingShard {
  file: string;
  tensors: number;
}

/** Shards the index names that are not among the release's files (empty without an index or weight_map). */
export function missingShards(snap: Snapshot): MissingShard[] {
  const map = jsonObject(snap, INDEX)?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) return [];
  const present = new Set(snap.files.map((f) => f.path));
  const counts = new Map<string, number>();
  for (const shard of Object.values(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || present.has(shard)) continue;
    counts.set(shard, (counts.get(shard) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([file, tensors]) => ({ file, tensors }));
}

/** Whether an inventory error string is the reader's note about one of these missing shards (reported here instead). */
export function isMissingShardError(error: string, missing: MissingShard[]): boolean {
  return missing.some((m) => error.includes(`shard ${m.file},`) && error.includes('not in the repo'));
}

/**
 * Findings for shards the index names but the release lacks. On the Hub the repo itself is broken: loaders fail
 * on the first missing file, one FILE_MALFORMED per file. In a local folder a partial download (`--include
 * "*.json"`) is the usual cause: one info finding, and the weight checks skip.
 */
export function missingShardFindings(snap: Snapshot, missing: MissingShard[]): FindingInput[] {
  if (missing.length === 0) return [];
  if (snap.origin === 'local') {
    const tensors = missing.reduce((a, m) => a + m.tensors, 0);
    return [
      {
        code: 'FILE_MALFORMED',
        severity: 'info',
        title: `Weights not present: ${missing.length} shard(s) named by ${INDEX} are not in the folder; shape and weight checks skipped`,
        detail:
          'A local folder often holds a partial download (only the JSON files); the missing shards say nothing about the release itself.',
        evidence: { index: INDEX, missing: missing.length, tensors, shards: missing.slice(0, 20) },
        files: [INDEX],
      },
    ];
  }
  return missing.map((m) => ({
    code: 'FILE_MALFORMED' as const,
    severity: 'critical' as const,
    title: `${INDEX} names ${m.file} (${m.tensors} tensors), which is not in the repo`,
    detail: `Loaders read the index and fail when they open ${m.file}; the ${m.tensors} tensors it should hold are missing from the release.`,
    evidence: { index: INDEX, file: m.file, tensors: m.tensors },
    files: [INDEX],
  }));
}
