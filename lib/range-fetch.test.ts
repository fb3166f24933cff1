import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BufferPool } from './buffer-pool.ts';
import { delivered } from './buffered-response.ts';
import { checkContentRange, createRangeFetch } from './range-fetch.ts';

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));

interface Listening {
  server: Server;
  url: string;
  connections: () => number;
  sockets: Socket[];
  close: () => void;
}

async function listen(server: Server): Promise<Listening> {
  const sockets: Socket[] = [];
  server.on('connection', (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const scheme = server instanceof HttpsServer ? 'https' : 'http';
  return {
    server,
    url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => sockets.length,
    sockets,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** /hold: 200,000 body bytes, the first 100,000 at once and the rest when the test calls `release`. */
const held: { release: (() => void) | null } = { release: null };

function serveRange(req: IncomingMessage, res: ServerResponse): void {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
  if (req.url === '/hold') {
    res.writeHead(206, { 'Content-Length': '200000', 'Content-Range': `bytes 0-199999/${body.length}` });
    res.write(body.subarray(0, 100_000));
    held.release = () => res.end(body.subarray(100_000, 200_000));
    return;
  }
  if (req.url === '/cut' || req.url === '/stall') {
    res.writeHead(206, { 'Content-Length': '1000', 'Content-Range': `bytes 0-999/${body.length}` });
    // /cut: the connection drops once 100 body bytes are out; /stall: it just stops sending.
    res.write(body.subarray(0, 100), () => void (req.url === '/cut' && res.destroy()));
    return;
  }
  if (req.url === '/moved') {
    res.writeHead(302, { Location: '/file', 'Content-Length': '0' });
    res.end();
    return;
  }
  const [a, b] = m ? [Number(m[1]), Number(m[2])] : [0, body.length - 1];
  // /long-head: a head of about 10 KiB (a CDN's), longer than the reader's head scratch.
  if (req.url === '/long-head') res.setHeader('X-Padding', 'p'.repeat(10_000));
  res.writeHead(m ? 206 : 200, {
    'Content-Length': String(b - a + 1),
    'X-Seen-Auth': req.headers.authorization ?? 'none',
    'Content-Range':
      req.url === '/wrong-range' ? `bytes ${a + 1}-${b + 1}/${body.length}` : `bytes ${a}-${b}/${body.length}`,
  });
  res.end(body.subarray(a, b + 1));
}

describe('range fetch (undici keep-alive pools for ranged GETs)', () => {
  let srv: Listening;
  before(async () => {
    srv = await listen(createServer(serveRange));
  });
  after(() => srv.close());

  it('returns the exact bytes and headers of ranges, over one reused connection, in buffers from the pool', async (t) => {
    const pool = new BufferPool();
    const f = createRangeFetch({ pool });
    t.after(() => f.close());
    const before = srv.connections();
    for (const [a, b] of [
      [0, 199_999],
      [5, 9],
      [100_000, 299_999],
    ]) {
      const r = await f(`${srv.url}/file`, { headers: { Range: `bytes=${a}-${b}` } });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${body.length}`);
      const ab = await r.arrayBuffer();
      assert.equal(ab.byteLength, b - a + 1);
      assert.ok(Buffer.from(ab).equals(body.subarray(a, b + 1)));
      if (b - a + 1 === 200_000) pool.give(new Uint8Array(ab));
    }
    assert.equal(srv.connections() - before, 1);
    const again = await f(`${srv.url}/file`, { headers: { Range: 'bytes=1-200000' } });
    assert.equal((await again.arrayBuffer()).byteLength, 200_000, 'a pooled buffer of the same size is reused');
  });

  it('reads heads longer than its head scratch, with small and large bodies behind them, on one connection', async (t) => {
    const f = createRangeFetch({ pool: new BufferPool() });
    t.after(() => f.close());
    const before = srv.connections();
    for (const [a, b] of [
      [0, 9],
      [10, 250_009],
      [7, 70_006],
      [1000, 1000],
      [0, 299_999],
    ]) {
      const r = await f(`${srv.url}/long-head`, { headers: { Range: `bytes=${a}-${b}` } });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('x-padding')?.length, 10_000);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(body.subarray(a, b + 1)), `bytes ${a}-${b}`);
    }
    assert.equal(srv.connections() - before, 1);
  });

  it('follows redirects, dropping Authorization across origins, and passes other requests to the fallback', async (t) => {
    const other = await listen(
      createServer((req, res) => {
        res.writeHead(302, { Location: `${srv.url}/file`, 'Content-Length': '0' });
        res.end();
      }),
    );
    const seen: string[] = [];
    const f = createRangeFetch({
      fallback: async (input) => {
        seen.push(String(input));
        return new Response('fallback');
      },
    });
    t.after(async () => {
      other.close();
      await f.close();
    });
    const same = await f(`${srv.url}/moved`, { headers: { Range: 'bytes=0-3', Authorization: 'Bearer t' } });
    assert.equal(same.headers.get('x-seen-auth'), 'Bearer t');
    const cross = await f(`${other.url}/x`, { headers: { Range: 'bytes=0-3', Authorization: 'Bearer t' } });
    assert.equal(cross.headers.get('x-seen-auth'), 'none');
    assert.equal(await (await f(`${srv.url}/file`)).text(), 'fallback');
    assert.deepEqual(seen, [`${srv.url}/file`]);
  });

  it('retries once when the server has closed an idle keep-alive socket', async (t) => {
    // The server drops a connection when a second request arrives on it: what a client sees when it sends on a
    // keep-alive socket the server closed a moment before.
    const served = new WeakSet<Socket>();
    const s = await listen(
      createServer((req, res) => {
        if (served.has(req.socket)) return void req.socket.destroy();
        served.add(req.socket);
        serveRange(req, res);
      }),
    );
    const f = createRangeFetch();
    t.after(async () => {
      s.close();
      await f.close();
    });
    await (await f(`${s.url}/file`, { headers: { Range: 'bytes=0-9' } })).arrayBuffer();
    assert.equal((await (await f(`${s.url}/file`, { headers: { Range: 'bytes=0-9' } })).arrayBuffer()).byteLength, 10);
    assert.equal(s.connections(), 2, 'the retry went out on a new connection');
  });

  it('rejects when the connection drops mid-body, and when the signal aborts', async (t) => {
    const f = createRangeFetch();
    t.after(() => f.close());
    await assert.rejects(
      f(`${srv.url}/cut`, { headers: { Range: 'bytes=0-999' } }),
      /closed after 100 of 1000 body bytes/,
    );
    const ac = new AbortController();
    const p = f(`${srv.url}/cut`, { headers: { Range: 'bytes=0-999' }, signal: ac.signal });
    ac.abort(new Error('time limit'));
    await assert.rejects(p, /time limit/);
  });

  it('rejects a 206 whose Content-Range is not the range asked for, and a body that stops arriving', async (t) => {
    const f = createRangeFetch({ bodyTimeout: 100 });
    t.after(() => f.close());
    await assert.rejects(f(`${srv.url}/wrong-range`, { headers: { Range: 'bytes=10-19' } }), /Content-Range/);
    await assert.rejects(
      f(`${srv.url}/stall`, { headers: { Range: 'bytes=0-999' } }),
      /closed after 100 of 1000 body bytes \(Body Timeout/,
    );
    assert.doesNotThrow(() => checkContentRange('bytes=0-99', 'bytes 0-49/50', 50), 'a range past the end is cut');
    assert.throws(() => checkContentRange('bytes=0-99', 'bytes 0-99/*', 99), /asked for bytes=0-99/);
    assert.throws(() => checkContentRange('bytes=5-9', null, 5), /asked for bytes=5-9/);
  });

  it("reads a body straight into the caller's memory (`into`), shared or plain, also behind a redirect", async (t) => {
    const pool = new BufferPool();
    const f = createRangeFetch({ pool });
    t.after(() => f.close());
    const shared = pool.takeShared(200_000);
    const plain = new Uint8Array(250_000).subarray(50_000);
    for (const [into, path, a] of [
      [shared, '/file', 0],
      [plain, '/moved', 100_000],
    ] as const) {
      const before = f.directBytes;
      const r = await f(`${srv.url}${path}`, { headers: { Range: `bytes=${a}-${a + 199_999}` }, into });
      assert.equal(r.status, 206);
      assert.ok(delivered(await r.arrayBuffer()), 'the response says its body is in `into`');
      assert.ok(Buffer.from(into.buffer, into.byteOffset, into.byteLength).equals(body.subarray(a, a + 200_000)));
      // All but what came in the same read as the head landed there from the socket, without a copy.
      assert.ok(f.directBytes - before > 150_000, `${f.directBytes - before} bytes read in place`);
    }
    // `into` of another length than the range: not used, the body comes as usual.
    const other = new Uint8Array(10);
    const r = await f(`${srv.url}/file`, { headers: { Range: 'bytes=0-99999' }, into: other });
    const ab = await r.arrayBuffer();
    assert.ok(!delivered(ab));
    assert.ok(Buffer.from(ab).equals(body.subarray(0, 100_000)));
    assert.ok(other.every((x) => x === 0));
  });

  it("never writes into the caller's memory after the read has failed", async (t) => {
    const f = createRangeFetch();
    t.after(() => f.close());
    const into = new Uint8Array(200_000).fill(0xee);
    const ac = new AbortController();
    const p = f(`${srv.url}/hold`, { headers: { Range: 'bytes=0-199999' }, into, signal: ac.signal });
    const firstHalf = Buffer.from(body.subarray(1_000, 100_000));
    for (let i = 0; i < 500 && !Buffer.from(into.subarray(1_000, 100_000)).equals(firstHalf); i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.ok(Buffer.from(into.subarray(1_000, 100_000)).equals(firstHalf), 'the first half arrived in place');
    ac.abort(new Error('given up'));
    await assert.rejects(p, /given up/);
    held.release?.();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      into.subarray(100_000).every((x) => x === 0xee),
      'nothing of the rest landed',
    );
  });

  it('closes its keep-alive connections on close()', async (t) => {
    const s = await listen(createServer(serveRange));
    t.after(() => s.close());
    const f = createRangeFetch();
    await (await f(`${s.url}/file`, { headers: { Range: 'bytes=0-9' } })).arrayBuffer();
    const closed = once(s.sockets[0], 'close');
    await f.close();
    await closed;
  });
});

describe('range fetch over https (the Hub answers resolve with a redirect to a CDN host)', () => {
  let dir: string | null = null;
  let tls: { key: Buffer; cert: Buffer } | null = null;
  before(() => {
    try {
      dir = mkdtempSync(join(tmpdir(), 'hubwatch-tls-'));
      execFileSync('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ]);
      tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    } catch {
      tls = null;
    }
  });
  after(() => void (dir && rmSync(dir, { recursive: true, force: true })));

  it('follows the redirect to the https host with the Range header and without the token', async (t) => {
    if (!tls) return t.skip('openssl is not available to make a test certificate');
    const seen: (string | undefined)[] = [];
    const cdn = await listen(
      new HttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
        seen.push(req.headers.range);
        serveRange(req, res);
      }),
    );
    const hub = await listen(
      createServer((req, res) => {
        res.writeHead(302, { Location: `${cdn.url}/file?signature=x`, 'Content-Length': '0' });
        res.end();
      }),
    );
    const f = createRangeFetch({ tls: { ca: tls.cert } });
    t.after(async () => {
      hub.close();
      cdn.close();
      await f.close();
    });
    const r = await f(`${hub.url}/org/name/resolve/main/model.safetensors`, {
      headers: { Range: 'bytes=1000-1999', Authorization: 'Bearer hf_x' },
    });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 1000-1999/${body.length}`);
    assert.equal(r.headers.get('x-seen-auth'), 'none');
    assert.equal(r.url, `${cdn.url}/file?signature=x`);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(body.subarray(1000, 2000)));
    assert.deepEqual(seen, ['bytes=1000-1999']);
  });
});

describe('buffer pool', () => {
  it('hands back only whole, plain buffers of pooled sizes, up to its cap', () => {
    const pool = new BufferPool(300 << 10);
    const a = pool.take(128 << 10);
    assert.equal(a.byteLength, a.buffer.byteLength);
    pool.give(a);
    assert.equal(pool.take(128 << 10).buffer, a.buffer);
    pool.give(new Uint8Array(new ArrayBuffer(256 << 10), 0, 128 << 10));
    assert.notEqual(pool.take(128 << 10).buffer.byteLength, 256 << 10, 'a partial view is not pooled');
    const given = [Buffer.allocUnsafeSlow(200 << 10), Buffer.allocUnsafeSlow(200 << 10)];
    given.forEach((b) => pool.give(b));
    const taken = [pool.take(200 << 10), pool.take(200 << 10)].map((b) => b.buffer);
    assert.deepEqual(
      taken.map((ab) => given.some((g) => g.buffer === ab)),
      [true, false],
      'only one fits under the 300 KiB cap',
    );
    const tiny = Buffer.allocUnsafeSlow(1000);
    pool.give(tiny);
    assert.notEqual(pool.take(1000).buffer, tiny.buffer, 'small buffers are not pooled');
  });
});
