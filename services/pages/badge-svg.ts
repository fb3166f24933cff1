/** A shields-style SVG badge ("hubwatch | Operational"): two flat halves, the status colour on the right. */
import { esc } from './html.ts';
import { BADGES } from './theme.ts';
import { STATUS_WORDS } from './status-words.ts';
import type { Shown } from './status-words.ts';

/** Approximate width of text in 11 px Verdana (what shields.io badges use), in px. */
export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[ilj.,:;'|!]/.test(ch) ? 3.2 : /[mwMW]/.test(ch) ? 9.5 : /[A-Z]/.test(ch) ? 7.5 : 6.4;
  return Math.ceil(w);
}

/** The badge of a shown state, or `unknown` (grey) for a model hubwatch has not seen. */
export function badgeSvg(state: Shown | 'unknown'): string {
  const label = 'hubwatch';
  const message = state === 'unknown' ? 'unknown' : STATUS_WORDS[state].word.toLowerCase();
  const colour = BADGES[state].bg;
  const text = BADGES[state].fg;
  const lw = textWidth(label) + 12;
  const mw = textWidth(message) + 12;
  const w = lw + mw;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${esc(`${label}: ${message}`)}">
<title>${esc(`${label}: ${message}`)}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${colour}"/><rect width="${w}" height="20" fill="url(#s)"/></g>
<g text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="${lw / 2}" y="14" fill="#fff">${esc(label)}</text>
<text x="${lw + mw / 2}" y="14" fill="${text}" data-state="${state}">${esc(message)}</text>
</g></svg>`;
}
