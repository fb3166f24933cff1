import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flaggedSpans, normPlot } from './norm-plot.ts';
import type { PlotProfile } from './norm-plot.ts';

const profile = (over: Partial<PlotProfile> = {}): PlotProfile => ({
  tensor: 'model.embed_tokens.weight',
  rows: 1000,
  bucketRows: 10,
  min: Array.from({ length: 100 }, (_, i) => (i >= 90 ? 0 : 0.5)),
  median: Array.from({ length: 100 }, (_, i) => (i >= 90 ? 0 : 1)),
  max: Array.from({ length: 100 }, (_, i) => (i >= 90 ? 0 : 2)),
  medianNorm: 1,
  threshold: 0.5,
  ...over,
});

test('flagged rows are marked where they are, and counted', () => {
  const svg = normPlot(profile(), [
    [3, 3],
    [900, 999],
  ]).value;
  assert.match(svg, /data-flagged="101"/);
  const marks = [
    ...svg.matchAll(/<rect\s+class="flagged"\s+data-rows="(\d+)-(\d+)"\s+x="([\d.]+)"[^>]*width="([\d.]+)"/g),
  ];
  assert.deepEqual(
    marks.map((m) => [Number(m[1]), Number(m[2])]),
    [
      [3, 3],
      [900, 999],
    ],
  );
  // 656 px of plot width from x = 52: row 900 starts at 52 + 0.9 * 656; the block spans the last tenth.
  assert.equal(Number(marks[1][3]), 642.4);
  assert.equal(Number(marks[1][4]), 65.6);
  assert.ok(Number(marks[0][4]) >= 2.5, 'a single row stays visible');
});

test('the threshold line sits at its value on the y scale', () => {
  const svg = normPlot(profile(), []).value;
  // y scale tops out at 1.08 × the largest norm (2): threshold 0.5 → 14 + 172 − 0.5 / 2.16 × 172
  const y = 14 + 172 - (0.5 / 2.16) * 172;
  const m = /<line class="threshold"[^>]*y1="([\d.]+)"/.exec(svg);
  assert.ok(m);
  assert.ok(Math.abs(Number(m[1]) - y) < 0.1);
  assert.match(svg, /threshold 0.5</);
  assert.match(svg, /data-flagged="0"/);
  assert.doesNotMatch(svg, /class="flagged"/);
});

test('neighbouring flagged rows merge into one mark; ranges outside the matrix are dropped', () => {
  const spans = flaggedSpans(
    [
      [10, 10],
      [11, 11],
      [5000, 5001],
      [-3, -1],
    ],
    1000,
  );
  assert.equal(spans.length, 1);
  assert.deepEqual([spans[0].first, spans[0].last], [10, 11]);
});

test('tensor names from the repo are escaped in the plot', () => {
  const svg = normPlot(profile({ tensor: '<script>x</script>' }), []).value;
  assert.doesNotMatch(svg, /<script/);
  assert.match(svg, /&#60;script&#62;/);
});
