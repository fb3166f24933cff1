import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withTimeout } from './timeout.ts';

test('withTimeout: the promise wins, the fallback wins, or the fallback throws', async () => {
  assert.equal(await withTimeout(Promise.resolve(1), 1000, () => 2), 1);
  assert.equal(await withTimeout(new Promise<number>((r) => setTimeout(() => r(1), 200)), 20, () => 2), 2);
  await assert.rejects(
    withTimeout(new Promise<number>((r) => setTimeout(() => r(1), 200)), 20, () => {
      throw new Error('late');
    }),
    /late/,
  );
});
