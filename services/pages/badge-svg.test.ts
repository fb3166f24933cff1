import assert from 'node:assert/strict';
import { test } from 'node:test';
import { badgeSvg } from './badge-svg.ts';
import { BADGES } from './theme.ts';

test('badges say the status word on its colour; unknown is grey', () => {
  const ok = badgeSvg('ok');
  assert.match(ok, /<text[^>]*data-state="ok">operational<\/text>/);
  assert.ok(ok.includes(`fill="${BADGES.ok.bg}"`));
  const unknown = badgeSvg('unknown');
  assert.match(unknown, />unknown<\/text>/);
  assert.ok(unknown.includes(`fill="${BADGES.unknown.bg}"`));
  assert.match(unknown, /aria-label="hubwatch: unknown"/);
});

test('the message half is wide enough for its word', () => {
  const width = (svg: string) => Number(/^<svg[^>]*width="(\d+)"/.exec(svg)![1]);
  assert.ok(width(badgeSvg('critical')) > width(badgeSvg('ok')));
});
