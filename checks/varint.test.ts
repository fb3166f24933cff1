import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeVarint, readVarint } from './varint.ts';

describe('varint (unsigned LEB128)', () => {
  it('encodes the examples of the protobuf encoding guide and reads them back', () => {
    // The protobuf encoding guide (protobuf.dev/programming-guides/encoding: 150 is 96 01; its older edition: 300 is
    // ac 02) and Wikipedia's LEB128 article (624485 is e5 8e 26).
    assert.deepEqual(encodeVarint(1), [0x01]);
    assert.deepEqual(encodeVarint(150), [0x96, 0x01]);
    assert.deepEqual(encodeVarint(300), [0xac, 0x02]);
    assert.deepEqual(encodeVarint(624485), [0xe5, 0x8e, 0x26]);
    for (const n of [0, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const bytes = Uint8Array.from([7, ...encodeVarint(n), 9]);
      assert.deepEqual(readVarint(bytes, 1), { value: n, next: bytes.length - 1 }, String(n));
    }
  });

  it('rejects truncated and over-long varints', () => {
    assert.throws(() => readVarint(Uint8Array.from([0x96]), 0), /truncated varint/);
    assert.throws(() => readVarint(new Uint8Array(11).fill(0x80), 0), /varint too long/);
  });
});
