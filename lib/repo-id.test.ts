import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRepoId, isRepoPart, parseRepoRef, REPO_ID_PATTERN, REVISION_PATTERN } from './repo-id.ts';
import { parseTarget } from './scan.ts';

const valid = ['meta-llama/Meta-Llama-3-8B', 'Qwen/Qwen2.5-7B-Instruct', 'a/b', 'org_1/model.v2', '0x/1b'];
const invalid = [
  '',
  'noslash',
  'a/b/c',
  '-org/x',
  'org/.hidden',
  '_x/y',
  'org/',
  '/name',
  'a b/c',
  `o/${'x'.repeat(97)}`,
];

describe('repo id rule', () => {
  it('accepts Hub repo ids and rejects the rest, the same way as a RegExp and as a schema pattern', () => {
    const schema = new RegExp(REPO_ID_PATTERN);
    for (const id of valid) assert.ok(isRepoId(id) && schema.test(id), id);
    for (const id of invalid) assert.ok(!isRepoId(id) && !schema.test(id), id);
    assert.ok(isRepoPart('meta-llama') && !isRepoPart('meta-llama/x') && !isRepoPart('.x'));
  });

  it('splits org/name[@revision] for the CLI', () => {
    assert.deepEqual(parseRepoRef('org/name'), { repo: 'org/name', revision: null });
    assert.deepEqual(parseRepoRef('org/name@refs/pr/3'), { repo: 'org/name', revision: 'refs/pr/3' });
    assert.equal(parseRepoRef('org/name@'), null);
    assert.equal(parseRepoRef('-org/name@main'), null);
    assert.ok(new RegExp(REVISION_PATTERN).test('0123abc') && !new RegExp(REVISION_PATTERN).test('a b'));
    assert.deepEqual(parseTarget('org/does-not-exist-here@v1'), {
      kind: 'hub',
      repo: 'org/does-not-exist-here',
      revision: 'v1',
    });
    assert.throws(() => parseTarget('org/.bad'), /neither a folder nor a Hub repo/);
  });
});
