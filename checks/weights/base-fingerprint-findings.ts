/**
 * The evidence and findings of the base-model fingerprint (base-fingerprint.ts) from the per-tensor comparisons:
 * every sampled tensor's relative difference, top singular values, estimated rank or "unchanged", the bytes read
 * against the release's weight bytes, and the backend and device that computed them.
 */
import type { BaseTensorProvider, FindingInput, Snapshot, TensorDelta } from '../types.ts';
import type { SampledPair } from './base-fingerprint.ts';
import type { DeltaKind } from './delta-spectrum.ts';
import { classifyDelta } from './delta-spectrum.ts';

/** Singular values kept per tensor in the evidence. */
const TOP_VALUES = 8;

const sig = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(4)) : x);

export interface TensorEvidence {
  tensor: string;
  layer: number | null;
  module: string;
  status: DeltaKind;
  rank: number | null;
  relativeDiff: number;
  cosine: number;
  singularValues: number[];
  rowsCompared: number;
  commonRows: number;
  /** Set when the release and the base have different row counts (a resized vocabulary): common rows compared. */
  resized?: { releaseRows: number; baseRows: number };
}

export interface FingerprintEvidence extends Record<string, unknown> {
  base: string;
  backend: string;
  device: string;
  bytesRead: number;
  releaseWeightBytes: number;
  fractionRead: number;
  sampleBytesPerTensor: number;
  layers: number[];
  tensors: TensorEvidence[];
  skipped: { tensor: string; reason: string }[];
}

function weightBytes(s: Snapshot): number {
  return (s.safetensors?.files ?? []).reduce((n, f) => n + f.size, 0);
}

/** The evidence stored with every finding of the check. */
export function fingerprintEvidence(
  release: Snapshot,
  base: Snapshot,
  provider: BaseTensorProvider,
  compared: { pair: SampledPair; delta: TensorDelta }[],
  skipped: { tensor: string; reason: string }[],
): FingerprintEvidence {
  const bytesRead = compared.reduce((n, c) => n + c.delta.bytesRead, 0);
  const total = weightBytes(release);
  const tensors = compared.map(({ pair, delta: d }): TensorEvidence => {
    const { kind, rank } = classifyDelta(d);
    const resized = d.releaseShape[0] !== d.baseShape[0];
    return {
      tensor: d.tensor,
      layer: pair.layer,
      module: pair.module,
      status: kind,
      rank,
      relativeDiff: sig(d.relativeDiff),
      cosine: sig(d.cosine),
      singularValues: d.singularValues.slice(0, TOP_VALUES).map(sig),
      rowsCompared: d.rowsCompared,
      commonRows: d.commonRows,
      ...(resized ? { resized: { releaseRows: d.releaseShape[0], baseRows: d.baseShape[0] } } : {}),
    };
  });
  return {
    base: `${base.repo}@${base.sha}`,
    backend: provider.backend,
    device: provider.device,
    bytesRead,
    releaseWeightBytes: total,
    fractionRead: total > 0 ? sig(bytesRead / total) : 0,
    sampleBytesPerTensor: provider.sampleBytes,
    layers: [...new Set(compared.map((c) => c.pair.layer).filter((l): l is number => l !== null))],
    tensors,
    skipped,
  };
}

function mode(xs: number[]): number {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
}

function resizedNote(ev: FingerprintEvidence): string {
  const r = ev.tensors.filter((t) => t.resized);
  return r.length
    ? ` ${r.map((t) => t.tensor).join(', ')} ${r.length === 1 ? 'has' : 'have'} a resized vocabulary (${r.map((t) => `${t.resized!.releaseRows} vs ${t.resized!.baseRows} rows`).join(', ')}); the common rows were compared.`
    : '';
}

/** The findings the classified tensors give (none for an ordinary full-rank fine-tune). */
export function fingerprintFindings(
  release: Snapshot,
  base: Snapshot,
  compared: { pair: SampledPair; delta: TensorDelta }[],
  ev: FingerprintEvidence,
): FindingInput[] {
  const files = [...new Set(compared.map((c) => c.pair.release.file))].sort();
  const sample = `${ev.tensors.length} sampled tensors (layers ${ev.layers.join(', ') || '—'} and token matrices; ${ev.bytesRead} bytes read)`;
  const by = (k: DeltaKind): TensorEvidence[] => ev.tensors.filter((t) => t.status === k);
  const finding = (f: Omit<FindingInput, 'evidence' | 'files'>): FindingInput[] => [{ ...f, evidence: ev, files }];
  if (by('unchanged').length === ev.tensors.length)
    return finding({
      code: 'WEIGHTS_IDENTICAL_TO_BASE',
      severity: 'warning',
      title: `Weights are identical to the base model ${base.repo}`,
      detail: `All ${sample} hold exactly the values of ${ev.base}, whatever the file layout: ${release.repo} looks like a re-upload of its base under a new name.${resizedNote(ev)}`,
    });
  const unrelated = by('unrelated');
  if (unrelated.length * 2 > ev.tensors.length)
    return finding({
      code: 'WEIGHTS_NOT_FROM_BASE',
      severity: 'warning',
      title: `Weights are not derived from the declared base model ${base.repo}`,
      detail: `${unrelated.length} of ${sample} differ from ${ev.base} by about as much as the weights themselves (relative difference ${unrelated.map((t) => t.relativeDiff).join(', ')}; two independent matrices of the same scale give √2 ≈ 1.41) with no correlation: the card's base_model is not where these weights came from.${resizedNote(ev)}`,
    });
  const lowRank = by('low-rank');
  const fullInLayers = ev.tensors.some(
    (t) => t.layer !== null && (t.status === 'full-rank' || t.status === 'unrelated'),
  );
  if (lowRank.length === 0 || fullInLayers) return [];
  const modules: Record<string, number> = {};
  for (const t of lowRank) modules[t.module] = Math.max(modules[t.module] ?? 0, t.rank!);
  const r = mode(lowRank.map((t) => t.rank!));
  const names = Object.keys(modules).sort();
  return [
    {
      code: 'LOW_RANK_DELTA',
      severity: 'info',
      title: `Merged LoRA of rank ≈ ${r} on ${names.join(', ')}`,
      detail: `Against ${ev.base}, ${lowRank.length} of ${sample} changed by an update of rank ≈ ${r} (a few singular values of ΔW far above a flat rounding-noise tail); the other ${by('unchanged').length} are unchanged${
        by('full-rank').length
          ? `, and ${by('full-rank')
              .map((t) => t.module)
              .join(', ')} changed in full`
          : ''
      }.${resizedNote(ev)}`,
      evidence: { ...ev, rank: r, modules },
      files,
    },
  ];
}
