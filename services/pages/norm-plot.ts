/**
 * The row-norm profile of an embedding or lm_head matrix as an inline SVG: the min–max band and the median of
 * each bucket of rows, the near-zero threshold, and the flagged (untrained) rows marked in red. Pure: data in,
 * markup out; colours come from the page's stylesheet so the plot follows dark mode.
 */
import type { NormProfile } from '../../checks/weights/norm-profile.ts';
import type { Html } from './html.ts';
import { html } from './html.ts';

/** A downsampled row-norm profile, as checks/weights/norm-profile.ts writes it. */
export type PlotProfile = NormProfile;

const W = 720;
const H = 220;
const L = 52;
const R = 12;
const T = 14;
const B = 34;
const PW = W - L - R;
const PH = H - T - B;

const fx = (v: number): string => (Math.round(v * 10) / 10).toString();
const finite = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Ranges of rows (inclusive) as pixel spans, merged where they touch, at least 2.5 px wide. */
export function flaggedSpans(
  ranges: [number, number][],
  rows: number,
): { x: number; w: number; first: number; last: number }[] {
  const spans: { x: number; w: number; first: number; last: number }[] = [];
  const sorted = ranges
    .filter(([a, b]) => Number.isInteger(a) && Number.isInteger(b) && a <= b && a < rows && b >= 0)
    .map(([a, b]): [number, number] => [Math.max(0, a), Math.min(rows - 1, b)])
    .sort((p, q) => p[0] - q[0]);
  for (const [a, b] of sorted) {
    const x0 = L + (a / rows) * PW;
    const x1 = Math.max(L + ((b + 1) / rows) * PW, x0 + 2.5);
    const prev = spans[spans.length - 1];
    if (prev && x0 <= prev.x + prev.w + 0.5) {
      prev.w = Math.max(prev.w, x1 - prev.x);
      prev.last = Math.max(prev.last, b);
    } else spans.push({ x: x0, w: x1 - x0, first: a, last: b });
  }
  return spans;
}

function countRows(ranges: [number, number][], rows: number): number {
  return ranges.reduce((n, [a, b]) => n + Math.max(0, Math.min(rows - 1, b) - Math.max(0, a) + 1), 0);
}

/**
 * The plot of one profile. `flagged` are inclusive row ranges (the untrained ids). Throws nothing: a profile
 * with no rows draws an empty frame.
 */
export function normPlot(p: PlotProfile, flagged: [number, number][]): Html {
  const rows = Math.max(1, finite(p.rows));
  const n = p.median.length;
  const top = Math.max(finite(p.threshold), ...p.max.map(finite), 1e-9) * 1.08;
  const y = (v: number): number => T + PH - (finite(v) / top) * PH;
  const xMid = (i: number): number => L + ((Math.min(rows, (i + 0.5) * p.bucketRows) / rows) * PW || 0);
  const upper = p.max.map((v, i) => `${fx(xMid(i))},${fx(y(v))}`);
  const lower = p.min.map((v, i) => `${fx(xMid(i))},${fx(y(v))}`).reverse();
  const median = p.median.map((v, i) => `${fx(xMid(i))},${fx(y(v))}`).join(' ');
  const spans = flaggedSpans(flagged, rows);
  const flaggedRows = countRows(flagged, rows);
  const ty = y(p.threshold);
  const label = `${p.tensor}: L2 norm of each of ${rows} rows in ${n} buckets; ${flaggedRows} flagged rows; threshold ${p.threshold}`;
  return html`<svg
    class="plot"
    viewBox="0 0 ${W} ${H}"
    role="img"
    aria-label="${label}"
    data-tensor="${p.tensor}"
    data-flagged="${flaggedRows}"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title>${label}</title>
    ${spans.map(
      (s) =>
        html`<rect
            class="flagged"
            data-rows="${s.first}-${s.last}"
            x="${fx(s.x)}"
            y="${T}"
            width="${fx(s.w)}"
            height="${PH}"
            fill-opacity="0.3"
          /><rect class="flagged" x="${fx(s.x)}" y="${T + PH + 2}" width="${fx(s.w)}" height="6" />`,
    )}
    ${n ? html`<polygon class="band" points="${[...upper, ...lower].join(' ')}" />` : ''}
    ${n ? html`<polyline class="median" points="${median}" />` : ''}
    <line class="threshold" x1="${L}" x2="${L + PW}" y1="${fx(ty)}" y2="${fx(ty)}" />
    <text x="${L + 6}" y="${fx(Math.max(T + 10, ty - 4))}">threshold ${p.threshold}</text>
    <line class="axis" x1="${L}" x2="${L}" y1="${T}" y2="${T + PH}" />
    <line class="axis" x1="${L}" x2="${L + PW}" y1="${T + PH}" y2="${T + PH}" />
    <text x="${L - 4}" y="${T + 8}" text-anchor="end">${Number(top.toPrecision(3))}</text>
    <text x="${L - 4}" y="${T + PH}" text-anchor="end">0</text>
    <text x="${L}" y="${H - 6}">row 0</text>
    <text x="${L + PW}" y="${H - 6}" text-anchor="end">row ${rows - 1}</text>
  </svg>`;
}
