import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertExpected, scanWeights } from '../../infra/fixtures/weights/assert-weights.ts';
import { WEIGHT_FIXTURES, writeWeightFixture } from '../../infra/fixtures/weights/untrained-fixtures.ts';
import type { HubMirror } from '../../infra/hub-mirror/server.ts';
import { startHubMirror } from '../../infra/hub-mirror/server.ts';
import { HubSource } from '../../lib/hub-client.ts';
import { LocalFolderSource } from '../../lib/local-source.ts';
import { createRangeFetch } from '../../lib/range-fetch.ts';
import { buildSnapshot } from '../../lib/snapshot-builder.ts';
import { createTensorStatsProvider } from '../../lib/tensor-stats.ts';
import { runCheck } from '../run-check.ts';
import { filesWellformed } from '../files/files-wellformed.ts';
import { untrainedTokens } from './untrained-tokens.ts';

describe('untrained-tokens over the Hub mirror (ranged HTTP reads)', () => {
  let root: string;
  let mirror: HubMirror;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'hubwatch-weights-hub-'));
    mirror = await startHubMirror({ root: join(root, 'store') });
  });
  after(async () => {
    await mirror?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const cases: [string, boolean][] = [
    ['llama31-identical', false],
    ['sharded', false],
    ['sharded', true],
    ['nan-row', true],
    ['clean', false],
  ];
  for (const [name, fast] of cases) {
    it(`${name}${fast ? ' (runner fetch: createRangeFetch)' : ''}: same findings as from a local folder, reading only the tensors`, async () => {
      const fx = WEIGHT_FIXTURES.find((f) => f.name === name)!;
      const dir = join(root, name);
      writeWeightFixture(dir, fx);
      const { sha } = await mirror.publish(`fixtures/${name}`, dir);
      mirror.resetStats();
      const rangeFetch = fast ? createRangeFetch() : null;
      const source = new HubSource(
        { hubUrl: mirror.url, ...(rangeFetch ? { fetch: rangeFetch } : {}) },
        `fixtures/${name}`,
        sha,
      );
      const { result, bytesRead } = await scanWeights(source, `fixtures/${name}`, sha).finally(() =>
        rangeFetch?.close(),
      );
      assertExpected(fx, result);
      const tensorBytes = 128256 * 64 * 2 * 2;
      assert.equal(bytesRead, tensorBytes);
      // Everything served from the weight files: the tensors, the headers (8 + length each), 1-byte size probes.
      const weightRequests = mirror.stats.requests.filter(
        (r) => r.path.includes('.safetensors?') || r.path.endsWith('.safetensors'),
      );
      const served = weightRequests.reduce((a, r) => a + r.bytes, 0);
      const shards =
        name === 'sharded'
          ? ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']
          : ['model.safetensors'];
      const headers = shards.reduce((a, s) => a + 8 + Number(readFileSync(join(dir, s)).readBigUInt64LE(0)), 0);
      assert.ok(served >= tensorBytes && served <= tensorBytes + headers + weightRequests.length, `served ${served}`);
      assert.ok(
        weightRequests.every((r) => r.range),
        'only ranged reads of weight files',
      );
      assert.ok(
        served < shards.reduce((a, s) => a + statSync(join(dir, s)).size, 0) || name === 'sharded',
        'never a whole file',
      );
    });
  }

  it('a header that lies gives FILE_MALFORMED (files-wellformed) and a skip here, never a crash', async () => {
    const dir = join(root, 'lying');
    writeWeightFixture(dir, WEIGHT_FIXTURES[0]);
    const file = join(dir, 'model.safetensors');
    const buf = readFileSync(file);
    const len = Number(buf.readBigUInt64LE(0));
    const header = buf
      .subarray(8, 8 + len)
      .toString('utf8')
      .replace('"BF16"', '"BF17"');
    buf.write(header, 8, 'utf8');
    writeFileSync(file, buf);
    const { sha } = await mirror.publish('fixtures/lying', dir);
    const source = new HubSource({ hubUrl: mirror.url }, 'fixtures/lying', sha);
    const snapshot = await buildSnapshot(source, { repo: 'fixtures/lying', sha }, { maxFileBytes: 64 << 20 });
    const wf = await runCheck(filesWellformed, { release: snapshot });
    assert.ok(wf.findings.some((f) => f.code === 'FILE_MALFORMED' && /unknown dtype "BF17"/.test(f.detail)));
    const provider = createTensorStatsProvider(source, snapshot, { threads: 1 });
    const r = await runCheck(untrainedTokens, { release: snapshot, tensors: provider });
    await provider.close();
    assert.equal(r.status, 'skipped');
    assert.match(r.reason ?? '', /model\.safetensors/);
  });

  it('an HTTP failure mid-read is a check error with a clear message', async () => {
    const dir = join(root, 'vanishing');
    writeWeightFixture(dir, WEIGHT_FIXTURES[0]);
    const { sha } = await mirror.publish('fixtures/vanishing', dir);
    const source = new HubSource({ hubUrl: mirror.url }, 'fixtures/vanishing', sha);
    const snapshot = await buildSnapshot(source, { repo: 'fixtures/vanishing', sha }, { maxFileBytes: 64 << 20 });
    await mirror.close();
    const provider = createTensorStatsProvider(source, snapshot, { threads: 1 });
    const r = await runCheck(untrainedTokens, { release: snapshot, tensors: provider });
    await provider.close();
    mirror = await startHubMirror({ root: join(root, 'store') });
    assert.equal(r.status, 'error');
    assert.match(r.error ?? '', /model\.safetensors/);
  });

  it('a file shorter than its header says is a check error (short read), locally too', async () => {
    const dir = join(root, 'short');
    writeWeightFixture(dir, WEIGHT_FIXTURES[0]);
    const source = new LocalFolderSource(dir);
    const snapshot = await buildSnapshot(source, { repo: 'a/short', sha: 'local' }, { maxFileBytes: 64 << 20 });
    const file = join(dir, 'model.safetensors');
    writeFileSync(file, readFileSync(file).subarray(0, 1 << 20));
    const provider = createTensorStatsProvider(source, snapshot, { threads: 1 });
    const r = await runCheck(untrainedTokens, { release: snapshot, tensors: provider });
    await provider.close();
    assert.equal(r.status, 'error');
    assert.match(r.error ?? '', /short read of model\.safetensors/);
  });
});
