import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evidenceView, normPlots, rangesText } from './evidence-view.ts';

test('a config diff becomes a table with one column per field', () => {
  const out = evidenceView({
    table: [{ field: 'rope_theta', value: 10000, previous: 500000, source: 'previous revision' }],
  }).value;
  assert.match(out, /<th>field<\/th>\s*<th>this release<\/th>\s*<th>previous<\/th>\s*<th>source<\/th>/);
  assert.match(out, /<td data-label="this release"><code>10000<\/code><\/td>/);
});

test('template text and rendered excerpts sit side by side; token strings are quoted', () => {
  const out = evidenceView({
    template: '{{ x }}\n',
    renderedExcerpt: 'a\nb',
    terminator: { token: '<|eot_id|>', id: 9 },
  }).value;
  assert.match(out, /<div class="side">[\s\S]*<h4>template<\/h4>[\s\S]*<h4>rendered excerpt<\/h4>/);
  // Escaped, quoted, and free to wrap after | and _ (<wbr>) so long special tokens fit a phone.
  assert.match(out, /<dt>token<\/dt>\s*<dd><code>&#34;&#60;\|<wbr>eot_<wbr>id\|<wbr>&#62;&#34;<\/code><\/dd>/);
});

test('id ranges read as ranges and absent values say so', () => {
  assert.equal(
    rangesText([
      [1, 3],
      [7, 7],
    ]),
    '1–3, 7',
  );
  assert.match(evidenceView({ expected: null }).value, /absent/);
});

test('stored profiles are linked from a finding that refers to them; inline ones are drawn', () => {
  const profile = {
    tensor: 't',
    rows: 4,
    bucketRows: 1,
    min: [1, 1, 0, 1],
    median: [1, 1, 0, 1],
    max: [1, 1, 0, 1],
    medianNorm: 1,
    threshold: 0.01,
  };
  const shared = { normProfiles: { profiles: [profile], flagged: [[2, 2]] as [number, number][] } };
  const linked = evidenceView({ evidenceRef: 'norm-profiles' }, shared).value;
  assert.match(linked, /href="#norm-profiles"/);
  assert.doesNotMatch(linked, /<svg/);
  const inline = evidenceView({ profiles: [profile], untrainedIds: [[2, 2]] }).value;
  assert.match(inline, /<svg\s+class="plot"/);
  assert.match(inline, /data-rows="2-2"/);
  assert.match(normPlots(shared.normProfiles).value, /data-rows="2-2"/);
  assert.doesNotMatch(evidenceView({ other: 1 }, shared).value, /<svg|norm-profiles/);
});
