import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderInWorker } from './render-in-worker.ts';

const NEVER_ENDS = '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}';

describe('rendering in a worker under a time limit', () => {
  test(
    'a template that never ends is stopped at the limit, and rendering still works afterwards',
    { timeout: 60_000 },
    async () => {
      const run = await renderInWorker(
        NEVER_ENDS,
        [
          { name: 'a', context: {} },
          { name: 'b', context: {} },
        ],
        300,
      );
      const a = run.results.get('a');
      assert.ok(a && !a.ok && a.timedOut, JSON.stringify(a));
      assert.match(a.message, /within 300 ms/);
      assert.equal(run.limitMs, 300);
      assert.equal(run.results.has('b'), false, 'nothing after a time-out is attempted');
      const again = await renderInWorker('{{ x }}!', [{ name: 'a', context: { x: 'ok' } }]);
      assert.deepEqual(again.results.get('a'), { ok: true, text: 'ok!' });
    },
  );

  test('a template that allocates without bound is stopped, not the process', async () => {
    const run = await renderInWorker(
      '{% set ns = namespace(l=[]) %}{% for i in range(100000000) %}{% set ns.l = ns.l + [i] %}{% endfor %}',
      [{ name: 'a', context: {} }],
      3000,
    );
    const a = run.results.get('a');
    assert.ok(a && !a.ok, JSON.stringify(a));
  });

  test('an output over the size limit is refused; a parse error is reported as such', async () => {
    const big = await renderInWorker('{{ s ~ s }}', [{ name: 'a', context: { s: 'x'.repeat(600_000) } }]);
    const a = big.results.get('a');
    assert.ok(a && !a.ok && /limit/.test(a.message), JSON.stringify(a));
    const bad = await renderInWorker('{% for m in messages %}', [{ name: 'a', context: {} }]);
    assert.ok(bad.parseError);
    assert.equal(bad.results.size, 0);
  });
});
