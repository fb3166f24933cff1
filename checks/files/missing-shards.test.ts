import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { snapshotOf } from '../arch/snapshot-fixture.ts';
import { runCheck } from '../run-check.ts';
import type { Snapshot } from '../types.ts';
import { filesWellformed } from './files-wellformed.ts';

const INDEX = 'model.safetensors.index.json';

/** A sharded release whose index names three shards; `present` of them are in the file list. */
function release(origin: 'hub' | 'local', present: string[]): Snapshot {
  const weight_map = {
    'model.embed_tokens.weight': 'model-00001-of-00003.safetensors',
    'model.layers.0.mlp.up_proj.weight': 'model-00001-of-00003.safetensors',
    'model.layers.1.mlp.up_proj.weight': 'model-00002-of-00003.safetensors',
    'model.layers.1.mlp.down_proj.weight': 'model-00002-of-00003.safetensors',
    'lm_head.weight': 'model-00003-of-00003.safetensors',
  };
  const snap = snapshotOf({ config: { model_type: 'llama' }, texts: { [INDEX]: JSON.stringify({ weight_map }) } });
  snap.files.push(...present.map((path) => ({ path, size: 100 })));
  const errors = Object.values(weight_map)
    .filter((s, i, a) => a.indexOf(s) === i && !present.includes(s))
    .map((s) => `index names shard ${s}, which is not in the repo`);
  snap.safetensors = { index: INDEX, files: [], tensors: {}, errors };
  snap.origin = origin;
  return snap;
}

describe('shards named by the index but absent', () => {
  it('on the Hub: one critical FILE_MALFORMED per missing file, with its tensor count', async () => {
    const r = await runCheck(filesWellformed, { release: release('hub', ['model-00001-of-00003.safetensors']) });
    const f = r.findings.filter((x) => x.code === 'FILE_MALFORMED');
    assert.equal(f.length, 2);
    assert.ok(f.every((x) => x.severity === 'critical'));
    assert.deepEqual(
      f.map((x) => [x.evidence.file, x.evidence.tensors]),
      [
        ['model-00002-of-00003.safetensors', 2],
        ['model-00003-of-00003.safetensors', 1],
      ],
    );
  });

  it('in a local folder (partial download): one info finding, nothing critical', async () => {
    const r = await runCheck(filesWellformed, { release: release('local', []) });
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0].severity, 'info');
    assert.match(r.findings[0].title, /Weights not present/);
    assert.equal(r.findings[0].evidence.tensors, 5);
  });

  it('says nothing when every shard is there', async () => {
    const all = [
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ];
    const r = await runCheck(filesWellformed, { release: release('hub', all) });
    assert.equal(r.status, 'passed');
  });
});
