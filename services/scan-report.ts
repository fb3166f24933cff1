/** The human form of a scan report: findings grouped by severity, wrapped to the terminal, coloured on a TTY. */
import type { Finding, Severity } from '../checks/types.ts';
import { fixFor } from '../lib/finding-fixes.ts';
import type { ScanReport } from '../lib/scan.ts';

export interface RenderOptions {
  /** ANSI colours (a TTY without NO_COLOR, or FORCE_COLOR). */
  color: boolean;
  /** Wrap width in columns; 0: no wrapping. */
  width: number;
  /** Also list every check with its status. */
  verbose: boolean;
  /** Wall time of the scan, for the summary line. */
  elapsedMs: number;
}

type Style = 'red' | 'yellow' | 'cyan' | 'green' | 'grey' | 'bold';
const SGR: Record<Style, string> = { red: '31', yellow: '33', cyan: '36', green: '32', grey: '90', bold: '1' };
const ORDER: Severity[] = ['critical', 'warning', 'info'];
const SEVERITY_STYLE: Record<Severity, Style> = { critical: 'red', warning: 'yellow', info: 'cyan' };
const VERDICT_STYLE = { critical: 'red', warning: 'yellow', ok: 'green', error: 'grey' } as const;

/** Whether to colour (Config.color: FORCE_COLOR forces it, NO_COLOR and TERM=dumb turn it off, else on a TTY). */
export function wantsColor(setting: 'auto' | 'always' | 'never', isTTY: boolean): boolean {
  return setting === 'always' || (setting === 'auto' && isTTY);
}

/** Greedy word wrap of one paragraph to `width` columns, every line prefixed by `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const room = width > 0 ? Math.max(20, width - indent.length) : Infinity;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
    // A single word longer than the room (a URL, a long token) is cut rather than left overflowing.
    while (line.length > room) {
      lines.push(indent + line.slice(0, room));
      line = line.slice(room);
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

function findingLines(f: Finding, o: RenderOptions, paint: (s: string, st: Style) => string): string[] {
  const head = wrap(`${f.code} · ${f.title}`, o.width, '    ');
  head[0] = `  ${paint('●', SEVERITY_STYLE[f.severity])} ${head[0].slice(4)}`;
  return [
    ...head.map((l, i) => (i === 0 ? l.replace(f.code, paint(f.code, 'bold')) : l)),
    ...wrap(f.detail, o.width, '    '),
    ...wrap(`What to do: ${fixFor(f.code)}`, o.width, '    '),
    ...(f.files.length ? wrap(`files: ${f.files.join(', ')}`, o.width, '    ').map((l) => paint(l, 'grey')) : []),
  ];
}

/** `2 critical, 1 warning, 3 info · 24 checks · 6.6 s` (skipped and failed checks counted when there are any). */
export function summaryLine(r: ScanReport, elapsedMs: number): string {
  const counts = ORDER.map((s) => [s, r.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const skipped = r.checks.filter((c) => c.status === 'skipped').length;
  const errors = r.checks.filter((c) => c.status === 'error').length;
  return [
    counts.join(', ') || 'no findings',
    `${r.checks.length} checks`,
    ...(skipped ? [`${skipped} skipped`] : []),
    ...(errors ? [`${errors} failed to run`] : []),
    `${(elapsedMs / 1000).toFixed(1)} s`,
  ].join(' · ');
}

/** Renders a report for people: verdict, findings by severity with what to do, checks (verbose), summary. */
export function renderReport(r: ScanReport, o: RenderOptions): string {
  const paint = (s: string, st: Style): string => (o.color ? `\x1b[${SGR[st]}m${s}\x1b[0m` : s);
  const out = [`${r.repo}@${r.sha}: ${paint(r.verdict.toUpperCase(), VERDICT_STYLE[r.verdict])}`];
  for (const sev of ORDER) {
    const group = r.findings.filter((f) => f.severity === sev);
    if (!group.length) continue;
    out.push('', paint(`${sev.toUpperCase()} (${group.length})`, SEVERITY_STYLE[sev]));
    for (const f of group) out.push(...findingLines(f, o, paint));
  }
  if (o.verbose) {
    const w = Math.max(...r.checks.map((c) => c.check.length));
    out.push('', paint('checks', 'bold'));
    for (const c of r.checks) {
      const why = c.reason ?? c.error ?? (c.findings ? `${c.findings} finding(s)` : '');
      out.push(...wrap(`${c.check.padEnd(w)}  ${c.status.padEnd(8)} ${why}`, o.width, '  '));
    }
  }
  out.push('', ...wrap(summaryLine(r, o.elapsedMs), o.width, '').map((l) => paint(l, 'bold')));
  return `${out.join('\n')}\n`;
}
