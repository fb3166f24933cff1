import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hubScanLine } from './hub-scan.ts';

test("UNSAFE_PICKLE shows the Hub's own scan next to ours; not scanned says so; other codes show nothing", () => {
  const line = (code: string, evidence: Record<string, unknown>): string => hubScanLine({ code, evidence }).value;
  assert.match(
    line('UNSAFE_PICKLE', { file: 'a.bin', hubScan: 'unsafe' }),
    /Hub scan[^<]*<strong[^>]*>unsafe<\/strong>/,
  );
  assert.match(line('UNSAFE_PICKLE', { file: 'a.bin', hubScan: 'not scanned' }), />not scanned</);
  const weights = line('PICKLE_WEIGHTS', {
    files: ['a.bin', 'b.bin'],
    scanned: [
      { file: 'a.bin', format: 'zip', hubScan: 'safe' },
      { file: 'b.bin', format: 'pickle', hubScan: 'caution' },
    ],
  });
  assert.match(weights, /a\.bin: <strong[^>]*>safe<\/strong> · b\.bin: <strong[^>]*>caution<\/strong>/);
  assert.equal(line('UNSAFE_PICKLE', { file: 'a.bin' }), '', 'a local scan has no Hub status to show');
  assert.equal(line('FILE_MALFORMED', { file: 'a.bin', hubScan: 'unsafe' }), '');
  assert.doesNotMatch(line('UNSAFE_PICKLE', { file: 'a.bin', hubScan: '<img>' }), /<img>/, 'escaped');
});
