/**
 * The pages' colours, light and dark, as data: the stylesheet is written from them and a unit test holds every
 * text/background pair to WCAG AA (4.5:1).
 */

export interface Palette {
  bg: string;
  fg: string;
  muted: string;
  link: string;
  border: string;
  surface: string;
  /** Plot colours (graphical objects: WCAG asks 3:1 against the background). */
  band: string;
  line: string;
  threshold: string;
  flagged: string;
}

export const LIGHT: Palette = {
  bg: '#ffffff',
  fg: '#1f2328',
  muted: '#59636e',
  link: '#0860ca',
  border: '#d1d9e0',
  surface: '#f6f8fa',
  band: '#a8c7ef',
  line: '#0860ca',
  threshold: '#7d4e00',
  flagged: '#cf222e',
};

export const DARK: Palette = {
  bg: '#0d1117',
  fg: '#e6edf3',
  muted: '#9198a1',
  link: '#6cb6ff',
  border: '#3d444d',
  surface: '#151b23',
  band: '#2f5a8a',
  line: '#6cb6ff',
  threshold: '#e3b341',
  flagged: '#ff7b72',
};

/** Badge colours: white or near-black text on each status colour, the same in both modes. */
export const BADGES: Record<string, { bg: string; fg: string }> = {
  critical: { bg: '#cf222e', fg: '#ffffff' },
  warning: { bg: '#f2c14e', fg: '#1f2328' },
  ok: { bg: '#1a7f37', fg: '#ffffff' },
  error: { bg: '#59636e', fg: '#ffffff' },
  pending: { bg: '#0860ca', fg: '#ffffff' },
  unknown: { bg: '#59636e', fg: '#ffffff' },
  muted: { bg: '#59636e', fg: '#ffffff' },
};

/** Severity accents (left borders of findings): graphical, 3:1 against the page. */
export const SEVERITY_ACCENT: Record<string, string> = { critical: '#cf222e', warning: '#b07d00', info: '#0860ca' };

function channel(c: number): number {
  const s = c / 255;
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

/** WCAG relative luminance of a #rrggbb colour. */
export function luminance(hex: string): number {
  const n = Number.parseInt(hex.slice(1), 16);
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
}

/** WCAG contrast ratio of two #rrggbb colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

function vars(p: Palette): string {
  return Object.entries(p)
    .map(([k, v]) => `--${k}:${v}`)
    .join(';');
}

/**
 * The stylesheet's colour variables, badge classes and severity accents (two classes, so the card's own `border`
 * shorthand does not reset them), with the dark palette under prefers-color-scheme.
 */
export function themeCss(): string {
  const badges = Object.entries(BADGES)
    .map(([k, c]) => `.v-${k}{background:${c.bg};color:${c.fg}}`)
    .join('');
  const accents = Object.entries(SEVERITY_ACCENT)
    .map(([k, c]) => `.finding.sev-${k}{border-left-color:${c}}`)
    .join('');
  return `:root{color-scheme:light dark;${vars(LIGHT)}}@media (prefers-color-scheme:dark){:root{${vars(DARK)}}}${badges}${accents}`;
}
