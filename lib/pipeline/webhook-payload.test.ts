import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkWebhookPayload, PAYLOAD_LIMITS, storablePayload } from './webhook-payload.ts';

/** JSON values with any UTF-16 content, lone surrogates and NUL included. */
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.constantFrom('\u0000', '\ud800', 'a\udc00b', '\ud83d\ude00'),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Whether every string and key of a value could go into Postgres jsonb: no NUL, no lone surrogate. */
function storable(v: unknown): boolean {
  if (typeof v === 'string')
    // eslint-disable-next-line no-control-regex -- NUL is what is looked for
    return !/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v);
  if (Array.isArray(v)) return v.every(storable);
  if (v && typeof v === 'object') return Object.entries(v).every(([k, x]) => storable(k) && storable(x));
  return true;
}

test('property: the stored copy of any payload has no NUL and no lone surrogate, and checking never throws', () => {
  fc.assert(
    fc.property(hostileJson, (v) => {
      const copy = storablePayload(v);
      assert.ok(storable(JSON.parse(JSON.stringify(copy))), JSON.stringify(copy));
      const r = checkWebhookPayload(v);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
});

test('property: payloads within the bounds pass, and a copy is never deeper than the depth bound', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), (depth) => {
      let v: unknown = 'x';
      for (let i = 0; i < depth; i++) v = { a: v };
      const r = checkWebhookPayload(v);
      assert.equal(r.ok, depth <= PAYLOAD_LIMITS.maxDepth, `depth ${depth}`);
      let d = 0;
      for (let x: unknown = storablePayload(v); x && typeof x === 'object'; x = (x as { a: unknown }).a) d++;
      assert.ok(d <= PAYLOAD_LIMITS.maxDepth);
    }),
  );
});

test('named fields have tight bounds: a repo name of 300 kB is refused, a real one passes', () => {
  const body = (name: string) => ({ event: { scope: 'repo', action: 'create' }, repo: { type: 'model', name } });
  assert.equal(checkWebhookPayload(body('acme/widget')).ok, true);
  const r = checkWebhookPayload(body(`acme/${'w'.repeat(300_000)}`));
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.errors.join() : '', /\$\.repo\.name/);
  assert.equal(checkWebhookPayload([1]).ok, false);
});
