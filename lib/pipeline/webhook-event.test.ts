import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyWebhook } from './webhook-event.ts';

const SHA = 'a'.repeat(40);
const OLD = 'b'.repeat(40);
const repo = (extra: Record<string, unknown> = {}) => ({
  type: 'model',
  name: 'org/model',
  id: 'x',
  private: false,
  headSha: SHA,
  ...extra,
});
const opts = { canReadPrivate: false };

test('a new model repo is a release', () => {
  const d = classifyWebhook({ event: { scope: 'repo', action: 'create' }, repo: repo() }, opts);
  assert.deepEqual(d, { kind: 'release', repo: 'org/model', sha: SHA, scope: 'repo', action: 'create' });
});

test('a push to main is a release at its newSha; other refs are ignored', () => {
  const push = classifyWebhook(
    {
      event: { scope: 'repo.content', action: 'update' },
      repo: repo({ headSha: OLD }),
      updatedRefs: [{ ref: 'refs/heads/main', oldSha: OLD, newSha: SHA }],
    },
    opts,
  );
  assert.equal(push.kind, 'release');
  assert.equal(push.kind === 'release' && push.sha, SHA);
  const pr = classifyWebhook(
    {
      event: { scope: 'repo.content', action: 'update' },
      repo: repo(),
      updatedRefs: [{ ref: 'refs/pr/3', oldSha: null, newSha: SHA }],
    },
    opts,
  );
  assert.equal(pr.kind, 'ignored');
  const deleted = classifyWebhook(
    {
      event: { scope: 'repo.content', action: 'update' },
      repo: repo(),
      updatedRefs: [{ ref: 'refs/heads/main', oldSha: OLD, newSha: null }],
    },
    opts,
  );
  assert.equal(deleted.kind, 'ignored');
});

test('a repo turned public is a release; other config changes are not', () => {
  const pub = classifyWebhook(
    {
      event: { scope: 'repo.config', action: 'update' },
      repo: repo({ private: false }),
      updatedConfig: { private: false },
    },
    opts,
  );
  assert.equal(pub.kind, 'release');
  const priv = classifyWebhook(
    {
      event: { scope: 'repo.config', action: 'update' },
      repo: repo({ private: true }),
      updatedConfig: { private: true },
    },
    opts,
  );
  assert.equal(priv.kind, 'ignored');
  const other = classifyWebhook(
    { event: { scope: 'repo.config', action: 'update' }, repo: repo(), updatedConfig: {} },
    opts,
  );
  assert.equal(other.kind, 'ignored');
});

test('datasets, discussions, bad names and missing shas are ignored with a reason', () => {
  for (const body of [
    { event: { scope: 'repo', action: 'create' }, repo: repo({ type: 'dataset' }) },
    { event: { scope: 'discussion', action: 'create' }, repo: repo() },
    { event: { scope: 'repo', action: 'create' }, repo: repo({ name: '../etc/passwd' }) },
    { event: { scope: 'repo', action: 'create' }, repo: repo({ headSha: 'nothex' }) },
    { nothing: true },
    null,
  ]) {
    const d = classifyWebhook(body, opts);
    assert.equal(d.kind, 'ignored');
    assert.ok(d.kind === 'ignored' && d.reason.length > 0);
  }
});

test('private repo content is checked only when a Hub token can read it', () => {
  const body = { event: { scope: 'repo', action: 'create' }, repo: repo({ private: true }) };
  assert.equal(classifyWebhook(body, { canReadPrivate: false }).kind, 'ignored');
  assert.equal(classifyWebhook(body, { canReadPrivate: true }).kind, 'release');
});
