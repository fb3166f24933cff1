import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BADGES, DARK, LIGHT, SEVERITY_ACCENT, contrast } from './theme.ts';

test('contrast follows the WCAG formula', () => {
  assert.equal(Math.round(contrast('#000000', '#ffffff')), 21);
  assert.equal(contrast('#777777', '#777777'), 1);
});

test('every text colour meets WCAG AA (4.5:1) on the page and on surfaces, light and dark', () => {
  for (const [mode, p] of [
    ['light', LIGHT],
    ['dark', DARK],
  ] as const) {
    for (const k of ['fg', 'muted', 'link'] as const) {
      assert.ok(contrast(p[k], p.bg) >= 4.5, `${mode} ${k} on bg: ${contrast(p[k], p.bg)}`);
      assert.ok(contrast(p[k], p.surface) >= 4.5, `${mode} ${k} on surface`);
    }
    // Plot lines, threshold, flagged marks and severity accents are graphical objects: 3:1 (WCAG 1.4.11).
    for (const k of ['line', 'threshold', 'flagged'] as const) assert.ok(contrast(p[k], p.bg) >= 3, `${mode} ${k}`);
    for (const [sev, c] of Object.entries(SEVERITY_ACCENT)) assert.ok(contrast(c, p.bg) >= 3, `${mode} ${sev} accent`);
  }
});

test('every badge, the warning badge included, meets WCAG AA', () => {
  for (const [k, c] of Object.entries(BADGES)) assert.ok(contrast(c.fg, c.bg) >= 4.5, `${k}: ${contrast(c.fg, c.bg)}`);
});
