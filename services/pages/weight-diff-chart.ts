/**
 * The base-model fingerprint's evidence as a small inline SVG: one bar per sampled tensor, grouped by layer, whose
 * length is the relative difference ‖ΔW‖/‖W_base‖ (on a scale that always shows √2, the mark of independent
 * weights), labelled with the estimated rank ("unchanged", "rank 8", "full"). Pure: evidence in, markup out; every
 * tensor name comes from the repo and is escaped; colours come from the page's stylesheet classes.
 */
import type { Html } from './html.ts';
import { html } from './html.ts';

/** One sampled tensor, as checks/weights/base-fingerprint-findings.ts writes it. */
export interface DiffBar {
  tensor: string;
  layer: number | null;
  module: string;
  status: string;
  rank: number | null;
  relativeDiff: number;
}

const W = 520;
const ROW = 16;
const LABEL = 150;
const RIGHT = 90;
const TOP = 18;
const PLOT = W - LABEL - RIGHT;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const fx = (v: number): string => (Math.round(v * 10) / 10).toString();

function rankLabel(b: DiffBar): string {
  if (b.status === 'unchanged') return 'unchanged';
  if (b.status === 'low-rank' && b.rank !== null) return `rank ${b.rank}`;
  if (b.status === 'unrelated') return 'unrelated';
  return 'full rank';
}

/** Bars in layer order: token matrices first, then layers ascending, modules by name. */
export function orderBars(bars: DiffBar[]): DiffBar[] {
  const key = (b: DiffBar): number => (b.layer === null ? -1 : b.layer);
  return [...bars].sort((a, b) => key(a) - key(b) || a.module.localeCompare(b.module));
}

/**
 * The chart of per-layer relative difference and estimated rank for the fingerprint evidence's `tensors`.
 * Returns empty markup when there is nothing to draw.
 */
export function weightDiffChart(tensors: DiffBar[] | undefined | null): Html {
  if (!Array.isArray(tensors) || tensors.length === 0) return html``;
  const bars = orderBars(tensors);
  const top = Math.max(Math.SQRT2 * 1.1, ...bars.map((b) => num(b.relativeDiff)));
  const x = (v: number): number => LABEL + (Math.min(num(v), top) / top) * PLOT;
  const h = TOP + bars.length * ROW + 8;
  const sqrt2 = x(Math.SQRT2);
  const rows = bars.map((b, i) => {
    const y = TOP + i * ROW;
    const name = `${b.layer === null ? 'tok' : `L${b.layer}`} ${b.module}`;
    const w = Math.max(b.status === 'unchanged' ? 0 : 1, x(b.relativeDiff) - LABEL);
    return html`<g class="diff-row diff-${b.status}">
      <title>${b.tensor}: relative difference ${num(b.relativeDiff)}, ${rankLabel(b)}</title>
      <text x="${LABEL - 6}" y="${fx(y + 11)}" text-anchor="end">${name}</text>
      <rect x="${LABEL}" y="${fx(y + 2)}" width="${fx(w)}" height="${ROW - 4}" class="diff-bar"></rect>
      <text x="${W - RIGHT + 6}" y="${fx(y + 11)}">${rankLabel(b)}</text>
    </g>`;
  });
  return html`<svg
    class="weight-diff-chart"
    viewBox="0 0 ${W} ${fx(h)}"
    width="${W}"
    height="${fx(h)}"
    role="img"
    aria-label="Relative difference from the base and estimated rank per sampled tensor"
  >
    <text x="${LABEL}" y="12" class="axis">‖ΔW‖ / ‖W_base‖ (0 … ${fx(top)})</text>
    <line x1="${fx(sqrt2)}" x2="${fx(sqrt2)}" y1="${TOP}" y2="${fx(h - 8)}" class="diff-ref"></line>
    <text x="${fx(sqrt2 + 3)}" y="${TOP - 4 + 12}" class="axis">√2</text>
    ${rows}
  </svg>`;
}
