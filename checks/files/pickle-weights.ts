import type { Check, CheckContext, FindingInput, SnapshotFile } from '../types.ts';
import type { HubSecurityStatus } from './hub-security.ts';
import { hubScanWords } from './hub-security.ts';
import { pickleSafety } from './pickle-globals.ts';
import { scanPickleFile } from './pickle-read.ts';
import type { PickleFileScan } from './pickle-read.ts';

/** Extensions of files loaded with pickle (torch.load, pickle.load); the formats picklescan scans. */
const PICKLE_EXT = /\.(bin|pt|pth|ckpt|pkl|pickle)$/i;
/** Pickles a trainer writes next to checkpoints: not weights, but scanned all the same. */
const NOT_WEIGHTS =
  /(^|\/)(training_args\.bin|optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state[^/]*\.pth|[^/]*\.pkl|[^/]*\.pickle)$/i;
const MAX_FILES = 64;

const fullName = (g: { module: string; name: string }): string => `${g.module}.${g.name}`;

/** What the Hub's own scan said of a file, for evidence: `hubScan` in words, and its status when there is one. */
type HubScanOf = (path: string) => { hubScan: string; hubSecurity?: HubSecurityStatus } | null;

/** One file's findings: UNSAFE_PICKLE for imports that run code, FILE_TOO_LARGE for parts left unscanned. */
function fileFindings(s: PickleFileScan, hub: HubScanOf): FindingInput[] {
  const globals = s.streams.flatMap((x) => x.scan.globals.map((g) => ({ ...g, entry: x.entry })));
  const dangerous = [...new Set(globals.filter((g) => pickleSafety(g) === 'dangerous').map(fullName))].sort();
  const other = [...new Set(globals.filter((g) => pickleSafety(g) === 'other').map(fullName))].sort();
  const out: FindingInput[] = [];
  if (dangerous.length) {
    out.push({
      code: 'UNSAFE_PICKLE',
      severity: 'critical',
      title: `${s.path} runs code when loaded: ${dangerous.slice(0, 3).join(', ')}${dangerous.length > 3 ? ', …' : ''}`,
      detail:
        'Loading this file with torch.load or pickle.load imports and calls these functions. Do not load it; ' +
        'ship the weights as safetensors.' +
        (hub(s.path) ? ` Hub scan: ${hub(s.path)!.hubScan}.` : ''),
      evidence: {
        file: s.path,
        format: s.format,
        dangerousImports: dangerous,
        otherImports: other,
        entries: [...new Set(globals.map((g) => g.entry).filter(Boolean))],
        ...hub(s.path),
      },
      files: [s.path],
    });
  }
  for (const why of s.unscanned) {
    out.push({
      code: 'FILE_TOO_LARGE',
      severity: 'warning',
      title: `${s.path}: pickle not fully scanned`,
      detail: `Part of this pickle file was not scanned for imports: ${why}.`,
      evidence: { file: s.path, format: s.format, reason: why },
      files: [s.path],
    });
  }
  return out;
}

/** The release-level finding: weights shipped as pickle, with what the scan saw in each file. */
function pickleWeightsFinding(
  weights: SnapshotFile[],
  scans: PickleFileScan[],
  hasSafetensors: boolean,
  note: string | null,
  hub: HubScanOf,
): FindingInput {
  return {
    code: 'PICKLE_WEIGHTS',
    severity: hasSafetensors ? 'info' : 'warning',
    title: hasSafetensors
      ? `Pickle weights shipped alongside safetensors (${weights.length} file${weights.length > 1 ? 's' : ''})`
      : `Weights only as pickle (${weights.length} file${weights.length > 1 ? 's' : ''}), no safetensors`,
    detail: hasSafetensors
      ? 'Loaders that prefer safetensors are safe; anything that falls back to the pickle files runs code from them.'
      : 'Loading these weights executes pickle code; safetensors holds the same tensors without that risk.',
    evidence: {
      files: weights.map((f) => f.path),
      safetensors: hasSafetensors,
      scanned: scans
        .filter((s) => weights.some((w) => w.path === s.path))
        .map((s) => ({ file: s.path, format: s.format, ...hub(s.path) })),
      ...(note ? { scan: note } : {}),
    },
    files: weights.map((f) => f.path),
  };
}

/**
 * PICKLE_WEIGHTS / UNSAFE_PICKLE: every pickle-format file of the release is scanned by parsing its pickle opcodes
 * (never executing them) through the context's ranged reader; imports that run code are critical. Weights that
 * exist only as pickle are a warning, pickle next to safetensors is info.
 */
export const pickleWeights: Check = {
  id: 'pickle-weights',
  title: 'Pickle files are scanned for code that runs on load',
  queue: 'checks',
  codes: ['PICKLE_WEIGHTS', 'UNSAFE_PICKLE', 'FILE_TOO_LARGE'],
  async run(ctx: CheckContext) {
    const snap = ctx.release;
    const pickles = snap.files.filter((f) => PICKLE_EXT.test(f.path)).sort((a, b) => a.path.localeCompare(b.path));
    if (pickles.length === 0)
      return { status: 'skipped', reason: 'no pickle-format files (.bin, .pt, .pth, .ckpt, .pkl)' };
    const scans: PickleFileScan[] = [];
    let note: string | null = null;
    if (!ctx.files) note = 'not scanned: no file reader in this environment';
    else {
      for (const f of pickles.slice(0, MAX_FILES)) {
        if (ctx.signal?.aborted) throw new Error('aborted');
        scans.push(await scanPickleFile(ctx.files, f));
      }
      if (pickles.length > MAX_FILES) note = `first ${MAX_FILES} of ${pickles.length} pickle files scanned`;
    }
    // The Hub's own scan, shown next to ours for files listed on the Hub; absent means the Hub did not scan the
    // file (or did not say), which is no evidence either way. A local folder has no Hub scan to show.
    const hub: HubScanOf = (path) => {
      if (snap.origin === 'local') return null;
      const status = snap.files.find((x) => x.path === path)?.hubSecurity;
      return { hubScan: hubScanWords(status), ...(status ? { hubSecurity: status } : {}) };
    };
    const findings = scans.flatMap((s) => fileFindings(s, hub));
    const isPickle = (f: SnapshotFile): boolean => scans.find((s) => s.path === f.path)?.format !== 'not-pickle';
    const weights = pickles.filter((f) => !NOT_WEIGHTS.test(f.path) && isPickle(f));
    const hasSafetensors = snap.files.some((f) => f.path.endsWith('.safetensors'));
    if (weights.length) findings.push(pickleWeightsFinding(weights, scans, hasSafetensors, note, hub));
    if (findings.length === 0 && note) return { status: 'skipped', reason: `pickle files ${note}` };
    return findings.length ? { status: 'findings', findings } : { status: 'passed' };
  },
};
