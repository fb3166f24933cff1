/**
 * The Hub's own security scan of a file, as its tree listing reports it with `expand=true`: the
 * `securityFileStatus` field of each entry (huggingface.js packages/hub/src/lib/list-files.ts passes it through;
 * huggingface_hub hf_api.py reads it into `BlobSecurityInfo(safe, status, av_scan, pickle_import_scan)`). Its shape:
 *   { status: "safe" | "unsafe" | "caution" | "suspicious" | "queued" | "unscanned" | "error",
 *     avScan: { status, … },
 *     pickleImportScan: { status, highestSafetyLevel?, imports? | pickleImports?: [{ module, name, safety }] },
 *     protectAiScan?, jFrogScan? }
 * (safety: "innocuous" | "suspicious" | "dangerous"). Stored compact and bounded next to the file in the snapshot and
 * shown beside our own pickle scan. An absent status means the Hub did not scan the file (or did not say): it is
 * never evidence either way.
 */

/** What the Hub said about one file, bounded (statuses and names cut, a few dozen imports at most). */
export interface HubSecurityStatus {
  /** The overall status, as the Hub words it. */
  status: string;
  /** Status of each scanner that reported (avScan, pickleImportScan, protectAiScan, jFrogScan). */
  scanners: Record<string, string>;
  /** The pickle import scan's highest safety level (given by the Hub, or the worst of its imports). */
  pickleSafety?: string;
  /** Imports the Hub's pickle scan found that are not innocuous. */
  pickleImports?: { module: string; name: string; safety: string }[];
}

const SCANNERS = ['avScan', 'pickleImportScan', 'protectAiScan', 'jFrogScan'] as const;
const MAX_IMPORTS = 32;
const SAFETY_RANK: Record<string, number> = { innocuous: 0, suspicious: 1, dangerous: 2 };

const word = (v: unknown, max = 40): string | null => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null);

const obj = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** The bounded status from a tree entry's `securityFileStatus`; null when absent or without a status. */
export function hubSecurityOf(raw: unknown): HubSecurityStatus | null {
  const s = obj(raw);
  const status = word(s?.status);
  if (!s || !status) return null;
  const out: HubSecurityStatus = { status, scanners: {} };
  for (const k of SCANNERS) {
    const st = word(obj(s[k])?.status);
    if (st) out.scanners[k] = st;
  }
  const pickle = obj(s.pickleImportScan);
  const list = pickle?.imports ?? pickle?.pickleImports;
  if (Array.isArray(list)) {
    const imports = list
      .map(obj)
      .filter((x): x is Record<string, unknown> => x !== null)
      .map((x) => ({ module: word(x.module, 200), name: word(x.name, 200), safety: word(x.safety) ?? 'unknown' }))
      .filter((x): x is { module: string; name: string; safety: string } => x.module !== null && x.name !== null);
    const worst = imports.reduce((w, x) => ((SAFETY_RANK[x.safety] ?? 1) > (SAFETY_RANK[w] ?? -1) ? x.safety : w), '');
    const flagged = imports.filter((x) => x.safety !== 'innocuous');
    if (flagged.length) out.pickleImports = flagged.slice(0, MAX_IMPORTS);
    if (worst) out.pickleSafety = worst;
  }
  const level = word(pickle?.highestSafetyLevel);
  if (level) out.pickleSafety = level;
  return out;
}

/**
 * The Hub's verdict in words for evidence and pages: `unsafe`, `caution`, `safe`, `queued`, …, or
 * `not scanned` when the listing carried no status.
 */
export function hubScanWords(s: HubSecurityStatus | null | undefined): string {
  if (!s) return 'not scanned';
  return s.status === 'unscanned' ? 'not scanned' : s.status;
}
