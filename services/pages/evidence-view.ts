/**
 * A finding's evidence rendered for people: row lists as tables (config diffs, token ids with their strings),
 * id ranges as ranges, template text and rendered excerpts side by side, row-norm profiles as plots; the raw
 * JSON stays one click away. Every value is untrusted and escaped.
 */
import { Html, esc, html } from './html.ts';
import type { PlotProfile } from './norm-plot.ts';
import { normPlot } from './norm-plot.ts';

/** Release-level evidence a finding may refer to (stored once per release). */
export interface SharedEvidence {
  normProfiles?: { profiles: PlotProfile[]; flagged: [number, number][] } | null;
  /** The base-model fingerprint of a release it found nothing wrong with (stored under the check's id). */
  baseFingerprint?: Record<string, unknown> | null;
}

const MAX_ROWS = 12;
const MAX_COLS = 10;
const FIRST_COLUMNS = ['id', 'token', 'field', 'value', 'expected', 'base', 'previous', 'uses', 'rules'];
const COLUMN_NAMES: Record<string, string> = { value: 'this release', lmHead: 'lm_head' };
const TEXT_KEY = /template|excerpt|rendered|prompt|text|snippet/i;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isRange = (v: unknown): v is [number, number] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number';

/** camelCase and snake_case keys as words. */
export function words(key: string): string {
  return (
    COLUMN_NAMES[key] ??
    key
      .replace(/_/g, ' ')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase()
  );
}

/** Inclusive id ranges as text: [[1,3],[7,7]] → "1–3, 7". */
export function rangesText(ranges: [number, number][], max = 40): string {
  const parts = ranges.slice(0, max).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
  return parts.join(', ') + (ranges.length > max ? `, … (${ranges.length} ranges)` : '');
}

/** Escaped text that may wrap after `.`, `_`, `/` and `|` (tensor names, special tokens), not inside numbers. */
const breakable = (text: string): Html => new Html(esc(text).replace(/([._/|])/g, '$1<wbr>'));

function cell(key: string, v: unknown): Html {
  if (v === null || v === undefined) return html`<span class="muted">absent</span>`;
  // Token strings are shown as JSON strings so that spaces, newlines and control characters are visible.
  if (key === 'token' || key === 'string') return html`<code>${breakable(JSON.stringify(v))}</code>`;
  if (typeof v === 'string') return breakable(v);
  if (typeof v === 'number' || typeof v === 'boolean') return html`<code>${String(v)}</code>`;
  if (Array.isArray(v) && v.every(isRange)) return html`${rangesText(v)}`;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return html`${v.join(', ')}`;
  // Per-row statistics ({norm, max, ...}) read as one line; per-matrix rule lists as the rules that fired.
  if (isObj(v) && Object.values(v).every((x) => typeof x === 'number'))
    return html`${Object.entries(v)
      .map(([k, n]) => `${words(k)} ${String(n)}`)
      .join(' · ')}`;
  if (isObj(v) && Object.values(v).every((x) => Array.isArray(x) && x.every((y) => typeof y === 'string')))
    return html`${[...new Set(Object.values(v).flat())].join(', ')}`;
  // Nested values as compact JSON, free to wrap anywhere (they have no spaces to wrap at).
  return html`<code class="json">${JSON.stringify(v)}</code>`;
}

/** An array of objects as a table (columns: the union of their keys). */
export function objectTable(rows: Record<string, unknown>[]): Html {
  // Postgres jsonb reorders keys (shortest first), so the columns people look for first are put first here.
  const rank = (c: string): number => (FIRST_COLUMNS.includes(c) ? FIRST_COLUMNS.indexOf(c) : FIRST_COLUMNS.length);
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort((a, b) => rank(a) - rank(b)).slice(0, MAX_COLS);
  const shown = rows.slice(0, MAX_ROWS);
  return html`<div class="table-wrap">
      <table class="stack">
        <thead>
          <tr>
            ${cols.map((c) => html`<th>${words(c)}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${shown.map(
            (r) =>
              html`<tr>
                ${cols.map((c) => html`<td data-label="${words(c)}">${cell(c, r[c])}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${rows.length > MAX_ROWS ? html`<p class="muted">… and ${rows.length - MAX_ROWS} more rows (raw evidence).</p>` : ''}`;
}

/** Row-norm profile plots: one figure per matrix, flagged rows marked. */
export function normPlots(src: SharedEvidence['normProfiles']): Html {
  if (!src || src.profiles.length === 0) return html``;
  return html`${src.profiles.map(
    (p) =>
      html`<figure class="norm-plot">
        ${normPlot(p, src.flagged)}
        <figcaption class="muted">
          <code>${p.tensor}</code>: row L2 norms (band: min–max per ${p.bucketRows} rows, line: median); dashed line:
          the near-zero threshold ${p.threshold} (median row norm ${p.medianNorm}); red: flagged rows
          ${src.flagged.length ? rangesText(src.flagged, 12) : 'none'}.
        </figcaption>
      </figure>`,
  )}`;
}

/** Profiles carried inline (a finding stored before release evidence existed) are drawn; stored ones are linked. */
function plots(ev: Record<string, unknown>, shared: SharedEvidence): Html {
  if (Array.isArray(ev.profiles))
    return normPlots({
      profiles: ev.profiles as PlotProfile[],
      flagged: (Array.isArray(ev.untrainedIds) ? ev.untrainedIds : []) as [number, number][],
    });
  if (ev.evidenceRef === 'norm-profiles' && shared.normProfiles)
    return html`<p><a href="#norm-profiles">Row-norm profiles of this release</a>, flagged rows marked.</p>`;
  return html``;
}

function valueView(key: string, v: unknown, depth: number): Html {
  if (Array.isArray(v) && v.length > 0 && v.every(isObj)) return objectTable(v);
  if (Array.isArray(v) && v.every(isRange)) return html`${rangesText(v)}`;
  if (Array.isArray(v) && v.every((x) => !isObj(x) && !Array.isArray(x)))
    return html`${v.slice(0, MAX_ROWS).map((x, i) => html`${i ? ', ' : ''}${cell(key, x)}`)}${v.length > MAX_ROWS ? ' …' : ''}`;
  if (isObj(v) && depth < 2) return fields(v, depth + 1);
  return cell(key, v);
}

function fields(ev: Record<string, unknown>, depth: number): Html {
  const entries = Object.entries(ev).filter(
    ([k, v]) =>
      !(k === 'evidenceRef' || k === 'profiles' || k === 'untrainedIds') && !(typeof v === 'string' && isText(k, v)),
  );
  if (entries.length === 0) return html``;
  return html`<dl class="ev">
    ${entries.map(
      ([k, v]) =>
        html`<dt>${words(k)}</dt>
          <dd>${valueView(k, v, depth)}</dd>`,
    )}
  </dl>`;
}

const isText = (k: string, v: string): boolean => TEXT_KEY.test(k) || v.includes('\n');

/** Multi-line and template-like strings of the evidence, side by side. */
function texts(ev: Record<string, unknown>): Html {
  const t = Object.entries(ev).filter((e): e is [string, string] => typeof e[1] === 'string' && isText(e[0], e[1]));
  if (t.length === 0) return html``;
  return html`<div class="side">
    ${t.map(
      ([k, v]) =>
        html`<div>
          <h4>${words(k)}</h4>
          <pre>${v}</pre>
        </div>`,
    )}
  </div>`;
}

/** The evidence of one finding, for people. */
export function evidenceView(ev: Record<string, unknown>, shared: SharedEvidence = {}): Html {
  const rest = { ...ev };
  const raw = JSON.stringify(rest, null, 2);
  return html`${fields(rest, 0)}${texts(rest)}${plots(ev, shared)}
    <details>
      <summary>Raw evidence (JSON)</summary>
      <pre>${raw}</pre>
    </details>`;
}
