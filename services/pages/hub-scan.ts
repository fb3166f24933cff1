/**
 * The Hub's own security scan shown next to ours on pickle findings: the `hubScan` words the pickle check stores
 * (checks/files/hub-security.ts), per file for PICKLE_WEIGHTS. Absent means the Hub did not scan the file or did not
 * say, which is no evidence either way; a local scan has no Hub status and shows nothing.
 */
import type { Html } from './html.ts';
import { html } from './html.ts';

const CODES = new Set(['UNSAFE_PICKLE', 'PICKLE_WEIGHTS']);

/** `file: status` pairs of the Hub scan found in a pickle finding's evidence (the file itself, or each scanned one). */
function hubScans(ev: Record<string, unknown>): { file: string; scan: string }[] {
  if (typeof ev.hubScan === 'string' && typeof ev.file === 'string') return [{ file: ev.file, scan: ev.hubScan }];
  const scanned = Array.isArray(ev.scanned) ? (ev.scanned as Record<string, unknown>[]) : [];
  return scanned
    .filter((s) => s && typeof s.file === 'string' && typeof s.hubScan === 'string')
    .map((s) => ({ file: s.file as string, scan: s.hubScan as string }));
}

/** A line "Hub scan: unsafe" (or per file) for pickle findings whose evidence carries the Hub's status; else nothing. */
export function hubScanLine(f: { code: string; evidence: Record<string, unknown> }): Html {
  if (!CODES.has(f.code)) return html``;
  const scans = hubScans(f.evidence);
  if (scans.length === 0) return html``;
  const one = (s: { scan: string }): Html =>
    html`<strong class="hub-scan-${s.scan.replace(/[^a-z]/g, '')}">${s.scan}</strong>`;
  return html`<p class="hub-scan">
    Hub scan (the Hub's own):
    ${
      scans.length === 1 && f.evidence.file === scans[0].file
        ? one(scans[0])
        : scans.map((s, i) => html`${i ? ' · ' : ''}${s.file}: ${one(s)}`)
    }
  </p>`;
}
