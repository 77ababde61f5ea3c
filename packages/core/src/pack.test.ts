import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Writer } from './codec.js';
import { MAX_PACKED_MESSAGES, MAX_PACKED_MESSAGE_BYTES, forEachPacked, pack, packedCount, packedSize } from './pack.js';

/** What a receiver does: check the pack whole, then read its messages (as views) one by one. */
function unpack(bytes: Uint8Array): Uint8Array[] | undefined {
  const count = packedCount(bytes);
  if (count === undefined) return undefined;
  const parts: Uint8Array[] = [];
  forEachPacked(bytes, (part, index) => {
    assert.equal(index, parts.length);
    parts.push(part);
  });
  assert.equal(parts.length, count);
  return parts;
}

test('a pack is read back as packed, in order, as views', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 2, maxLength: 40 }), (payloads) => {
      const bytes = pack(payloads, payloads.reduce((sum, payload) => sum + packedSize(payload), 0));
      const parts = unpack(bytes);
      assert.ok(parts);
      assert.deepEqual(parts.map((part) => [...part]), payloads.map((payload) => [...payload]));
      assert.ok(parts.every((part) => part.buffer === bytes.buffer), 'no copies');
    }),
  );
});

test('packedCount refuses what is not a pack: no throw, undefined', () => {
  const two = pack([new Uint8Array([1, 2]), new Uint8Array([3])], 5);
  assert.equal(unpack(new Uint8Array(0)), undefined, 'empty');
  assert.equal(unpack(pack([new Uint8Array([1])], 2)), undefined, 'one message is not a pack');
  assert.equal(unpack(two.subarray(0, two.length - 1)), undefined, 'truncated');
  assert.equal(unpack(Uint8Array.from([...two, 0])), undefined, 'trailing bytes');
  const tooMany = new Writer().varint(MAX_PACKED_MESSAGES + 1);
  for (let i = 0; i <= MAX_PACKED_MESSAGES; i++) tooMany.varint(0);
  assert.equal(unpack(tooMany.finish()), undefined, 'too many messages');
  assert.equal(unpack(new Writer().varint(2).varint(5000).finish()), undefined, 'a length past the end');
  const long = new Uint8Array(MAX_PACKED_MESSAGE_BYTES + 1);
  assert.equal(unpack(pack([long, new Uint8Array(1)], packedSize(long) + 2)), undefined, 'a message too long to be packed');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void unpack(bytes)));
});
