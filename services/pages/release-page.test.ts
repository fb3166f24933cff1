import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckRun } from '../../lib/check-runs.repo.ts';
import type { Release } from '../../lib/releases.repo.ts';
import { releasePage } from './release-page.ts';

const release: Release = {
  id: 7,
  modelId: 1,
  repo: 'org/fine-tune',
  sha: 'a'.repeat(40),
  source: 'webhook',
  receivedAt: new Date('2026-11-30T10:00:00Z'),
  status: 'done',
  verdict: 'ok',
  error: null,
  snapshotId: 3,
  previousReleaseId: null,
  baseSnapshotId: 2,
  finishedAt: new Date('2026-11-30T10:01:00Z'),
  checkAttempt: 1,
};

const run: CheckRun = {
  id: 11,
  releaseId: 7,
  attempt: 1,
  checkId: 'base-fingerprint',
  queue: 'tensor',
  status: 'passed',
  reason: null,
  error: null,
  durationMs: 1200,
  attempts: 1,
  finishedAt: new Date('2026-11-30T10:01:00Z'),
};

const tensors = [
  { tensor: 'model.layers.0.self_attn.q_proj.weight', layer: 0, module: 'q_proj', status: 'full-rank', rank: 64 },
  { tensor: 'model.layers.0.mlp.up_proj.weight', layer: 0, module: 'up_proj', status: 'full-rank', rank: 64 },
].map((t) => ({ ...t, relativeDiff: 0.02 }));

describe('release page: difference from the base model', () => {
  it('draws the chart from the evidence a passed fingerprint kept (an ordinary fine-tune has no finding)', () => {
    const page = releasePage({
      release,
      runs: [run],
      findings: [],
      shared: { baseFingerprint: { base: `org/base@${'b'.repeat(40)}`, tensors } },
      previous: null,
      hubUrl: 'https://huggingface.co',
    });
    assert.match(page, /<section id="base-diff">/);
    assert.match(page, /class="weight-diff-chart"/);
    assert.equal((page.match(/class="diff-bar"/g) ?? []).length, 2);
    assert.match(page, /No finding: a full-rank difference/);
    assert.match(page, /<p id="no-findings">/);
  });

  it('has no chart when the fingerprint kept nothing', () => {
    const page = releasePage({
      release,
      runs: [run],
      findings: [],
      shared: { baseFingerprint: null },
      previous: null,
      hubUrl: 'https://huggingface.co',
    });
    assert.doesNotMatch(page, /id="base-diff"/);
  });
});
