import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DiffBar } from './weight-diff-chart.ts';
import { weightDiffChart } from './weight-diff-chart.ts';

const bar = (over: Partial<DiffBar>): DiffBar => ({
  tensor: 'model.layers.0.self_attn.q_proj.weight',
  layer: 0,
  module: 'q_proj',
  status: 'low-rank',
  rank: 8,
  relativeDiff: 0.1,
  ...over,
});

describe('weight diff chart', () => {
  it('draws one labelled bar per tensor, token matrices first, with the rank or "unchanged"', () => {
    const svg = weightDiffChart([
      bar({ layer: 2, module: 'v_proj', tensor: 'model.layers.2.self_attn.v_proj.weight', rank: 7 }),
      bar({}),
      bar({
        layer: null,
        module: 'embed_tokens',
        tensor: 'model.embed_tokens.weight',
        status: 'unchanged',
        rank: 0,
        relativeDiff: 0,
      }),
    ]).value;
    assert.match(svg, /^<svg\s+class="weight-diff-chart"/);
    const labels = [...svg.matchAll(/text-anchor="end">([^<]+)</g)].map((m) => m[1]);
    assert.deepEqual(labels, ['tok embed_tokens', 'L0 q_proj', 'L2 v_proj']);
    assert.deepEqual(
      [...svg.matchAll(/<text x="436" y="[\d.]+">([^<]+)</g)].map((m) => m[1]),
      ['unchanged', 'rank 8', 'rank 7'],
    );
    assert.equal((svg.match(/class="diff-bar"/g) ?? []).length, 3);
    assert.match(svg, /width="0" height="12" class="diff-bar"/, 'an unchanged tensor has an empty bar');
  });

  it('bar length is proportional to the relative difference, with a √2 reference line', () => {
    const svg = weightDiffChart([
      bar({ status: 'unrelated', rank: null, relativeDiff: 1.4 }),
      bar({ status: 'full-rank', rank: null, relativeDiff: 0.7, layer: 1 }),
    ]).value;
    const widths = [...svg.matchAll(/width="([\d.]+)" height="12"/g)].map((m) => Number(m[1]));
    assert.ok(Math.abs(widths[0] / widths[1] - 2) < 0.02, `widths ${widths}`);
    assert.match(svg, />√2</);
    assert.match(svg, />unrelated</);
    assert.match(svg, />full rank</);
  });

  it('escapes tensor names from the repo and draws nothing without tensors', () => {
    const svg = weightDiffChart([bar({ module: '<script>x</script>', tensor: '"><img>' })]).value;
    assert.doesNotMatch(svg, /<script>|<img>/);
    assert.match(svg, /&#60;script&#62;/);
    assert.equal(weightDiffChart([]).value, '');
    assert.equal(weightDiffChart(undefined).value, '');
  });
});
