import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BufferPool } from './buffer-pool.ts';
import { createRangeFetch } from './range-fetch.ts';

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

function serveRange(req: IncomingMessage, res: ServerResponse): void {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
  if (req.url === '/cut') {
    res.writeHead(206, { 'Content-Length': '1000' });
    res.write(body.subarray(0, 100));
    setTimeout(() => res.destroy(), 20);
    return;
  }
  if (req.url === '/moved') {
    res.writeHead(302, { Location: '/file', 'Content-Length': '0' });
    res.end();
    return;
  }
  const [a, b] = m ? [Number(m[1]), Number(m[2])] : [0, body.length - 1];
  res.writeHead(m ? 206 : 200, {
    'Content-Length': String(b - a + 1),
    'X-Seen-Auth': req.headers.authorization ?? 'none',
    'Content-Range': `bytes ${a}-${b}/${body.length}`,
  });
  res.end(body.subarray(a, b + 1));
}

describe('range fetch (raw keep-alive sockets for ranged GETs)', () => {
  let srv: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    srv = await listen(serveRange);
  });
  after(() => {
    srv.server.closeAllConnections();
    srv.server.close();
  });

  it('returns the exact bytes and headers of ranges, over one reused connection, in buffers from the pool', async () => {
    const pool = new BufferPool();
    const f = createRangeFetch({ pool });
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
    f.close();
  });

  it('follows redirects, dropping Authorization across origins, and passes other requests to the fallback', async () => {
    const other = await listen((req, res) => {
      res.writeHead(302, { Location: `${srv.url}/file`, 'Content-Length': '0' });
      res.end();
    });
    const seen: string[] = [];
    const f = createRangeFetch({
      fallback: async (input) => {
        seen.push(String(input));
        return new Response('fallback');
      },
    });
    const same = await f(`${srv.url}/moved`, { headers: { Range: 'bytes=0-3', Authorization: 'Bearer t' } });
    assert.equal(same.headers.get('x-seen-auth'), 'Bearer t');
    const cross = await f(`${other.url}/x`, { headers: { Range: 'bytes=0-3', Authorization: 'Bearer t' } });
    assert.equal(cross.headers.get('x-seen-auth'), 'none');
    assert.equal(await (await f(`${srv.url}/file`)).text(), 'fallback');
    assert.deepEqual(seen, [`${srv.url}/file`]);
    f.close();
    other.server.closeAllConnections();
    other.server.close();
  });

  it('retries once when the server has closed an idle keep-alive socket', async () => {
    const s = await listen(serveRange);
    s.server.keepAliveTimeout = 30;
    const f = createRangeFetch();
    await (await f(`${s.url}/file`, { headers: { Range: 'bytes=0-9' } })).arrayBuffer();
    await new Promise((r) => setTimeout(r, 120));
    assert.equal((await (await f(`${s.url}/file`, { headers: { Range: 'bytes=0-9' } })).arrayBuffer()).byteLength, 10);
    f.close();
    s.server.closeAllConnections();
    s.server.close();
  });

  it('rejects when the connection drops mid-body, and when the signal aborts', async () => {
    const f = createRangeFetch();
    await assert.rejects(
      f(`${srv.url}/cut`, { headers: { Range: 'bytes=0-999' } }),
      /closed after 100 of 1000 body bytes/,
    );
    const ac = new AbortController();
    const p = f(`${srv.url}/cut`, { headers: { Range: 'bytes=0-999' }, signal: ac.signal });
    ac.abort(new Error('time limit'));
    await assert.rejects(p, /time limit/);
    f.close();
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
