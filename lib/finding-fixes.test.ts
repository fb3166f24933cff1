import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_CHECKS } from '../checks/index.ts';
import { fixFor } from './finding-fixes.ts';

test('every code of the check catalog has its own one-line "what to do"', () => {
  const generic = fixFor('NOT_A_CODE');
  for (const code of new Set([...ALL_CHECKS.flatMap((c) => c.codes), 'CHECK_ERROR'])) {
    const fix = fixFor(code);
    assert.notEqual(fix, generic, `${code} has a fix line`);
    assert.ok(fix.length <= 120 && !fix.includes('\n'), `${code}: one short line`);
  }
});
