import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Finding } from '../checks/types.ts';
import { NORM_PROFILES, splitLargeEvidence } from './release-evidence.ts';

const finding = (code: Finding['code'], evidence: Record<string, unknown>): Finding => ({
  code,
  severity: 'info',
  check: 'untrained-tokens',
  title: code,
  detail: '',
  evidence,
  files: [],
});

test('profiles shared by several findings are stored once and replaced by a reference', () => {
  const profiles = [{ tensor: 'embed', rows: 10 }];
  const { findings, stored } = splitLargeEvidence([
    finding('UNTRAINED_SPECIAL_TOKEN', { count: 1, profiles, untrainedIds: [[3, 3]], medianNorm: 0.9 }),
    finding('UNTRAINED_TOKENS', { count: 5, profiles, untrainedIds: [[3, 3]], medianNorm: 0.9 }),
    finding('EOS_MISMATCH', { terminator: 'x' }),
  ]);
  assert.deepEqual(stored, [{ kind: NORM_PROFILES, data: { profiles, flagged: [[3, 3]], medianNorm: 0.9 } }]);
  assert.deepEqual(findings[0].evidence, { count: 1, medianNorm: 0.9, evidenceRef: NORM_PROFILES });
  assert.deepEqual(findings[1].evidence, { count: 5, medianNorm: 0.9, evidenceRef: NORM_PROFILES });
  assert.deepEqual(findings[2].evidence, { terminator: 'x' });
});

test('findings without profiles store nothing', () => {
  const { findings, stored } = splitLargeEvidence([finding('NONFINITE_WEIGHTS', { nan: 1 })]);
  assert.deepEqual(stored, []);
  assert.deepEqual(findings[0].evidence, { nan: 1 });
});
