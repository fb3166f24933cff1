import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCheck } from '../run-check.ts';
import { codes } from '../test-helpers.ts';
import { diffLines, unifiedDiff } from './line-diff.ts';
import { remoteCode } from './remote-code.ts';
import { snapshotOf } from './snapshot-fixture.ts';

/** Applies a unified diff produced by unifiedDiff to the old text (a consumer's view of the format). */
function applyPatch(oldText: string, patch: string): string {
  const old = oldText.split('\n');
  const out: string[] = [];
  let pos = 0;
  const lines = patch.split('\n').slice(2);
  for (let i = 0; i < lines.length; i++) {
    const m = /^@@ -(\d+),(\d+) \+\d+,\d+ @@$/.exec(lines[i]);
    if (!m) continue;
    const start = Number(m[2]) === 0 ? Number(m[1]) : Number(m[1]) - 1;
    while (pos < start) out.push(old[pos++]);
    for (i++; i < lines.length && !lines[i].startsWith('@@'); i++) {
      const [op, text] = [lines[i][0], lines[i].slice(1)];
      if (op === ' ') {
        assert.equal(old[pos], text);
        out.push(text);
        pos++;
      } else if (op === '-') {
        assert.equal(old[pos], text);
        pos++;
      } else if (op === '+') out.push(text);
    }
    i--;
  }
  while (pos < old.length) out.push(old[pos++]);
  return out.join('\n');
}

describe('line diff', () => {
  it('produces a minimal edit script', () => {
    const s = diffLines(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'd', 'e'])!;
    assert.deepEqual(
      s.map((l) => `${l.op}${l.text}`),
      [' a', '-b', '+x', ' c', ' d', '+e'],
    );
    assert.deepEqual(
      diffLines([], ['a'])!.map((l) => l.op),
      ['+'],
    );
    assert.equal(diffLines(['a', 'b'], ['c', 'd'], 1), null, 'bounded work');
  });

  it('writes unified diffs that apply back to the new text', () => {
    const oldText = Array.from({ length: 60 }, (_, i) => `line ${i}`).join('\n');
    const lines = oldText.split('\n');
    lines.splice(3, 1, 'changed 3');
    lines.splice(30, 0, 'inserted a', 'inserted b');
    lines.splice(50, 2);
    lines.unshift('header');
    const newText = lines.join('\n');
    const d = unifiedDiff('modeling_x.py', oldText, newText)!;
    assert.match(d.text, /^--- a\/modeling_x\.py\n\+\+\+ b\/modeling_x\.py\n@@ -1,/);
    assert.equal(d.hunks.length, 3);
    assert.equal(applyPatch(oldText, d.text), newText);
    assert.equal(unifiedDiff('x.py', oldText, oldText)!.text, '');
  });
});

const MODELING_V1 = [
  'import torch',
  'class MLP:',
  '    def __init__(self, config):',
  '        self.act_fn = ACT2FN["gelu"]',
  '',
  'class Attention:',
  '    def __init__(self, config):',
  '        self.scaling = config.head_dim**-0.5',
  '        self.dropout = 0.0',
  '',
].join('\n');
const MODELING_V2 = MODELING_V1.replace('ACT2FN["gelu"]', 'ACT2FN["gelu_pytorch_tanh"]').replace(
  'self.dropout = 0.0',
  'self.dropout = 0.1',
);
const CONFIG = {
  model_type: 'custom',
  auto_map: {
    AutoConfig: 'configuration_custom.CustomConfig',
    AutoModelForCausalLM: 'modeling_custom.CustomForCausalLM',
  },
};
const rel = (modeling: string, sha: string): ReturnType<typeof snapshotOf> =>
  snapshotOf({
    config: CONFIG,
    sha,
    texts: { 'modeling_custom.py': modeling, 'configuration_custom.py': 'class CustomConfig: pass\n' },
  });

describe('remote-code', () => {
  it('passes a release without Python or auto_map', async () => {
    assert.equal(
      (await runCheck(remoteCode, { release: snapshotOf({ config: { model_type: 'llama' } }) })).status,
      'passed',
    );
  });

  it('reports shipped code as info, and an auto_map module missing from the release as a warning', async () => {
    assert.deepEqual(codes(await runCheck(remoteCode, { release: rel(MODELING_V1, 'a'.repeat(40)) })), [
      'info:REMOTE_CODE',
    ]);
    const missing = await runCheck(remoteCode, { release: snapshotOf({ config: CONFIG }) });
    assert.deepEqual(codes(missing), ['warning:REMOTE_CODE']);
    assert.match(JSON.stringify(missing.findings[0].evidence.table), /modeling_custom\.py is not in the release/);
    const crossRepo = snapshotOf({ config: { auto_map: { AutoModel: 'other/repo--modeling_x.Model' } } });
    assert.match(
      JSON.stringify((await runCheck(remoteCode, { release: crossRepo })).findings[0].evidence.table),
      /code loaded from another repo: other\/repo/,
    );
  });

  it('diffs changed modeling code against the previous revision and calls out activation changes', async () => {
    const r = await runCheck(remoteCode, {
      release: rel(MODELING_V2, '2'.repeat(40)),
      previous: rel(MODELING_V1, '1'.repeat(40)),
    });
    assert.deepEqual(codes(r), ['warning:REMOTE_CODE']);
    const diffs = r.findings[0].evidence.diffs as Record<string, string>;
    assert.equal(applyPatch(MODELING_V1, diffs['modeling_custom.py']), MODELING_V2);
    const callouts = r.findings[0].evidence.callouts as { file: string; category: string; lines: string[] }[];
    assert.deepEqual([...new Set(callouts.map((c) => c.category))], ['activation']);
    assert.ok(callouts[0].lines.includes('+        self.act_fn = ACT2FN["gelu_pytorch_tanh"]'));
    assert.match(r.findings[0].title, /touches activation/);
  });

  it('keeps unchanged code at info and flags code new since the previous revision', async () => {
    const same = await runCheck(remoteCode, {
      release: rel(MODELING_V1, '2'.repeat(40)),
      previous: rel(MODELING_V1, '1'.repeat(40)),
    });
    assert.deepEqual(codes(same), ['info:REMOTE_CODE']);
    const added = await runCheck(remoteCode, {
      release: rel(MODELING_V1, '2'.repeat(40)),
      previous: snapshotOf({ config: { model_type: 'custom' } }),
    });
    assert.deepEqual(codes(added), ['warning:REMOTE_CODE']);
    const nonNumeric = MODELING_V1.replace('import torch', 'import torch\nimport math');
    const r = await runCheck(remoteCode, {
      release: rel(nonNumeric, '2'.repeat(40)),
      previous: rel(MODELING_V1, '1'.repeat(40)),
    });
    assert.deepEqual(codes(r), ['info:REMOTE_CODE']);
  });
});
