import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCheck, verdictOf } from './run-check.ts';
import type { Check, Snapshot } from './types.ts';

const snap: Snapshot = {
  repo: 'o/n',
  sha: 's',
  files: [],
  texts: {},
  binaries: {},
  omitted: {},
  safetensors: null,
  cardData: null,
};
const mk = (run: Check['run']): Check => ({ id: 't', title: 't', queue: 'checks', codes: ['CHECK_ERROR'], run });

test('a throwing check is recorded as error, never as a pass', async () => {
  const r = await runCheck(
    mk(() => {
      throw new Error('boom');
    }),
    { release: snap },
  );
  assert.equal(r.status, 'error');
  assert.equal(r.error, 'boom');
});

test('findings get the check id and each file once; an empty findings list counts as passed', async () => {
  const r = await runCheck(
    mk(() => ({
      status: 'findings',
      findings: [
        {
          code: 'CHECK_ERROR',
          severity: 'warning',
          title: 'x',
          detail: 'y',
          evidence: {},
          files: ['b.json', 'a.json', 'b.json'],
        },
      ],
    })),
    { release: snap },
  );
  assert.equal(r.status, 'findings');
  assert.equal(r.findings[0].check, 't');
  assert.deepEqual(r.findings[0].files, ['b.json', 'a.json']);
  assert.equal(
    (
      await runCheck(
        mk(() => ({ status: 'findings', findings: [] })),
        { release: snap },
      )
    ).status,
    'passed',
  );
});

test('verdict: worst severity wins; errors only matter without findings', () => {
  const f = (severity: 'critical' | 'warning' | 'info') => ({
    code: 'CHECK_ERROR' as const,
    severity,
    check: 'c',
    title: '',
    detail: '',
    evidence: {},
    files: [],
  });
  assert.equal(verdictOf([{ status: 'findings', findings: [f('info'), f('critical')] }]), 'critical');
  assert.equal(
    verdictOf([
      { status: 'findings', findings: [f('warning')] },
      { status: 'error', findings: [] },
    ]),
    'warning',
  );
  assert.equal(
    verdictOf([
      { status: 'passed', findings: [] },
      { status: 'error', findings: [] },
    ]),
    'error',
  );
  assert.equal(
    verdictOf([
      { status: 'findings', findings: [f('info')] },
      { status: 'skipped', findings: [] },
    ]),
    'ok',
  );
});
