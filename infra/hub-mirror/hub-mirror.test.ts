import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  downloadFile,
  fileExists,
  listFiles,
  listModels,
  modelInfo,
  parseSafetensorsMetadata,
  pathsInfo,
} from '@huggingface/hub';
import { buildFixture, fixtureByRepo } from '../fixtures/fixtures.ts';
import type { HubMirror } from './server.ts';
import { startHubMirror } from './server.ts';

const CLEAN = 'hubwatch-fixtures/tiny-llama3-clean';
const SHARDED = 'hubwatch-fixtures/tiny-llama3-sharded';
const tmp = mkdtempSync(join(tmpdir(), 'hw-mirror-'));
const dirs = { rev0: join(tmp, 'rev0'), rev1: join(tmp, 'rev1'), sharded: join(tmp, 'sharded') };
let mirror: HubMirror;
let hubUrl: string;
const shas: string[] = [];

before(async () => {
  buildFixture(fixtureByRepo(CLEAN), 0, dirs.rev0);
  buildFixture(fixtureByRepo(CLEAN), 1, dirs.rev1);
  buildFixture(fixtureByRepo(SHARDED), 0, dirs.sharded);
  mirror = await startHubMirror({ root: join(tmp, 'store'), pageSize: 4 });
  hubUrl = mirror.url;
  shas.push((await mirror.publish(CLEAN, dirs.rev0)).sha, (await mirror.publish(CLEAN, dirs.rev1)).sha);
  await mirror.publish(SHARDED, dirs.sharded);
});
after(async () => {
  await mirror?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const model = (name: string) => ({ type: 'model' as const, name });

describe('hub mirror through @huggingface/hub', () => {
  it('answers modelInfo with sha and cardData only when asked for', async () => {
    const info = await modelInfo({ name: CLEAN, hubUrl, additionalFields: ['sha', 'cardData'] });
    assert.equal(info.name, CLEAN);
    assert.equal(info.sha, shas[1]);
    assert.deepEqual((info.cardData as { tags: string[] }).tags, ['llama-3', 'hubwatch-fixture']);
    const plain = await modelInfo({ name: CLEAN, hubUrl });
    assert.equal((plain as { sha?: string }).sha, undefined);
    await assert.rejects(
      modelInfo({ name: 'hubwatch-fixtures/nope', hubUrl }),
      (e: Error & { statusCode?: number }) => e.statusCode === 404,
    );
  });

  it('lists files recursively across several Link pages', async () => {
    mirror.resetStats();
    const files = [];
    for await (const f of listFiles({ repo: model(CLEAN), hubUrl, recursive: true })) files.push(f);
    assert.deepEqual(files.map((f) => f.path).sort(), readdirSync(dirs.rev1).sort());
    assert.ok(mirror.stats.requests.filter((r) => r.path.includes('/tree/')).length >= 2);
    const st = files.find((f) => f.path === 'model.safetensors');
    assert.equal(st?.lfs?.size, readFileSync(join(dirs.rev1, 'model.safetensors')).length);
    assert.equal(files.find((f) => f.path === 'config.json')?.lfs, undefined);
  });

  it("serves a fixture's Hub security status as securityFileStatus in expanded listings only", async () => {
    const status = { status: 'unsafe', avScan: { status: 'safe' }, pickleImportScan: { status: 'unsafe' } };
    await mirror.publish('acme/scanned', dirs.rev0, { security: { 'model.safetensors': status } });
    const expanded = new Map<string, unknown>();
    for await (const f of listFiles({ repo: model('acme/scanned'), hubUrl, recursive: true, expand: true }))
      expanded.set(f.path, f.securityFileStatus);
    assert.deepEqual(expanded.get('model.safetensors'), status);
    assert.equal(expanded.get('config.json'), undefined, 'a file the Hub did not scan has no status');
    for await (const f of listFiles({ repo: model('acme/scanned'), hubUrl, recursive: true }))
      assert.equal(f.securityFileStatus, undefined);
    const [info] = await pathsInfo({ repo: model('acme/scanned'), paths: ['model.safetensors'], expand: true, hubUrl });
    assert.deepEqual(info.securityFileStatus, status);
  });

  it('reads a byte range with exactly one Range GET', async () => {
    const blob = await downloadFile({ repo: model(CLEAN), path: 'model.safetensors', hubUrl });
    assert.ok(blob);
    mirror.resetStats();
    const got = Buffer.from(await blob.slice(1000, 5000).arrayBuffer());
    assert.deepEqual(
      mirror.stats.requests.map((r) => r.range),
      ['bytes=1000-4999'],
    );
    assert.equal(mirror.stats.bytesServed, 4000);
    assert.ok(got.equals(readFileSync(join(dirs.rev1, 'model.safetensors')).subarray(1000, 5000)));
  });

  it('returns null for a missing file and answers fileExists', async () => {
    assert.equal(await downloadFile({ repo: model(CLEAN), path: 'nope.json', hubUrl }), null);
    assert.equal(await fileExists({ repo: model(CLEAN), path: 'config.json', hubUrl }), true);
    assert.equal(await fileExists({ repo: model(CLEAN), path: 'nope.json', hubUrl }), false);
  });

  it('parses safetensors metadata of single-file and sharded repos', async () => {
    const single = await parseSafetensorsMetadata({ repo: model(CLEAN), hubUrl });
    assert.equal(single.sharded, false);
    if (!single.sharded) assert.deepEqual(single.header['model.embed_tokens.weight'].shape, [128256, 64]);
    const sharded = await parseSafetensorsMetadata({ repo: model(SHARDED), hubUrl });
    assert.equal(sharded.sharded, true);
    if (sharded.sharded) {
      assert.deepEqual(Object.keys(sharded.headers).sort(), [
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
      ]);
      assert.deepEqual(sharded.headers['model-00002-of-00002.safetensors']['lm_head.weight'].shape, [128256, 64]);
    }
  });

  it('lists an author’s models newest first with their shas', async () => {
    const got = [];
    for await (const m of listModels({ search: { owner: 'hubwatch-fixtures' }, hubUrl, additionalFields: ['sha'] }))
      got.push(m);
    assert.deepEqual(
      got.map((m) => m.name),
      [SHARDED, CLEAN],
    );
    assert.equal((got[1] as { sha?: string }).sha, shas[1]);
    const none = [];
    for await (const m of listModels({ search: { owner: 'someone-else' }, hubUrl })) none.push(m);
    assert.equal(none.length, 0);
  });

  it('keeps old revisions readable by sha', async () => {
    assert.notEqual(shas[0], shas[1]);
    const old = await modelInfo({ name: CLEAN, hubUrl, revision: shas[0], additionalFields: ['sha', 'cardData'] });
    assert.equal(old.sha, shas[0]);
    assert.equal(old.cardData, undefined);
    assert.equal(await downloadFile({ repo: model(CLEAN), path: 'README.md', revision: shas[0], hubUrl }), null);
    assert.ok(await downloadFile({ repo: model(CLEAN), path: 'README.md', revision: shas[1], hubUrl }));
    const again = await mirror.publish(CLEAN, dirs.rev1);
    assert.equal(again.sha, shas[1], 'same content gives the same sha');
    const info = await pathsInfo({
      repo: model(CLEAN),
      paths: ['config.json', 'nope'],
      revision: shas[0],
      expand: true,
      hubUrl,
    });
    assert.equal(info.length, 1);
    assert.equal(info[0].lastCommit?.id, shas[0]);
  });

  it('answers ranges the way the Hub does', async () => {
    const url = `${hubUrl}/${CLEAN}/resolve/main/config.json`;
    const size = readFileSync(join(dirs.rev1, 'config.json')).length;
    const bad = await fetch(url, { headers: { Range: `bytes=${size}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${size}`);
    await bad.arrayBuffer();
    const tail = await fetch(url, { headers: { Range: 'bytes=-10' } });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get('content-range'), `bytes ${size - 10}-${size - 1}/${size}`);
    assert.equal((await tail.arrayBuffer()).byteLength, 10);
    const full = await fetch(url);
    assert.equal(full.headers.get('x-repo-commit'), shas[1]);
    assert.match(full.headers.get('etag') ?? '', /^"[0-9a-f]{40}"$/);
    assert.equal((await full.arrayBuffer()).byteLength, size);
  });
});

interface Delivery {
  headers: IncomingHttpHeaders;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('hub mirror webhooks', () => {
  let receiver: Server;
  let hooked: HubMirror;
  const got: Delivery[] = [];
  const small = (name: string, text: string): string => {
    const d = join(tmp, 'small', name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'llama', note: text }));
    return d;
  };

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    hooked = await startHubMirror({
      root: join(tmp, 'hooked'),
      webhook: { url: `http://127.0.0.1:${port}/hook`, secret: 's3cret' },
    });
  });
  after(async () => {
    await hooked?.close();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  it('sends create, content update and going-public payloads with the secret', async () => {
    const a = await hooked.publish('acme/m1', small('a', 'one'));
    assert.equal(a.webhookStatus, 202);
    const b = await hooked.publish('acme/m1', small('b', 'two'));
    assert.equal(b.webhookStatus, 202);
    const p = await hooked.publish('acme/secret', small('c', 'three'), { private: true });
    assert.equal(p.webhookStatus, null, 'private repos send nothing');
    await assert.rejects(
      modelInfo({ name: 'acme/secret', hubUrl: hooked.url }),
      (e: Error & { statusCode?: number }) => e.statusCode === 401,
    );
    assert.equal((await modelInfo({ name: 'acme/secret', hubUrl: hooked.url, accessToken: 'hf_test' })).private, true);
    const pub = await hooked.setPrivate('acme/secret', false);
    assert.equal(pub.webhookStatus, 202);

    assert.equal(got.length, 3);
    for (const d of got) {
      assert.equal(d.headers['x-webhook-secret'], 's3cret');
      assert.match(String(d.headers['content-type']), /^application\/json/);
      assert.equal(d.body.webhook.version, 3);
      assert.equal(d.body.repo.type, 'model');
    }
    const [create, update, config] = got.map((d) => d.body);
    assert.deepEqual(create.event, { action: 'create', scope: 'repo' });
    assert.equal(create.repo.name, 'acme/m1');
    assert.equal(create.repo.headSha, a.sha);
    assert.equal(create.repo.url.api, `${hooked.url}/api/models/acme/m1`);
    assert.deepEqual(update.event, { action: 'update', scope: 'repo.content' });
    assert.deepEqual(update.updatedRefs, [{ ref: 'refs/heads/main', oldSha: a.sha, newSha: b.sha }]);
    assert.deepEqual(config.event, { action: 'update', scope: 'repo.config' });
    assert.deepEqual(config.updatedConfig, { private: false });
    assert.equal(config.repo.private, false);
    assert.equal(config.repo.headSha, p.sha);
    const info = await modelInfo({ name: 'acme/secret', hubUrl: hooked.url, additionalFields: ['sha'] });
    assert.equal(info.sha, p.sha);
  });

  it('reports a failed delivery as null', async () => {
    const dead = await startHubMirror({
      root: join(tmp, 'dead'),
      webhook: { url: 'http://127.0.0.1:9/hook', secret: 'x' },
    });
    try {
      assert.equal((await dead.publish('acme/m2', small('d', 'four'))).webhookStatus, null);
    } finally {
      await dead.close();
    }
  });
});
