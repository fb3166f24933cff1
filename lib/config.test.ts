import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.ts';

test('defaults need no environment', () => {
  const c = loadConfig({});
  assert.equal(c.hubUrl, 'https://huggingface.co');
  assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(c.port, 8080);
  assert.equal(c.publicUrl, 'http://127.0.0.1:8080');
  assert.deepEqual(c.watchAuthors, []);
});

test('values are parsed and every problem is reported at once', () => {
  const c = loadConfig({
    HUBWATCH_PORT: '9000',
    HUBWATCH_WATCH_AUTHORS: 'google, meta-llama ,',
    HUBWATCH_HUB_URL: 'http://127.0.0.1:1234/',
  });
  assert.equal(c.port, 9000);
  assert.deepEqual(c.watchAuthors, ['google', 'meta-llama']);
  assert.equal(c.hubUrl, 'http://127.0.0.1:1234');
  assert.throws(
    () => loadConfig({ HUBWATCH_PORT: 'x', HUBWATCH_HUB_URL: 'not a url', HUBWATCH_QUEUE_PREFIX: 'a:b' }),
    (e: Error) => {
      assert.match(e.message, /HUBWATCH_PORT/);
      assert.match(e.message, /HUBWATCH_HUB_URL/);
      assert.match(e.message, /HUBWATCH_QUEUE_PREFIX/);
      return true;
    },
  );
});
