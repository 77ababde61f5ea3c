import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError, Reader, Writer } from './codec.js';

test('varints, bytes and strings round-trip', () => {
  fc.assert(
    fc.property(fc.array(fc.maxSafeNat()), fc.uint8Array(), fc.string(), (numbers, bytes, text) => {
      const encoded = new Writer().varints(numbers).bytes(bytes).string(text).finish();
      const reader = new Reader(encoded);
      assert.deepEqual(reader.varints(1 << 20), numbers);
      assert.deepEqual(reader.bytes(), bytes);
      assert.equal(reader.string(1 << 20), text);
      reader.end();
    }),
  );
});

test('every truncation of a valid encoding throws DecodeError, never anything else', () => {
  const encoded = new Writer().varint(300).string('sector-D5').varints([1, 2, 99999]).finish();
  for (let length = 0; length < encoded.length; length++) {
    assert.throws(() => {
      const reader = new Reader(encoded.subarray(0, length));
      reader.varint();
      reader.string();
      reader.varints(10);
      reader.end();
    }, DecodeError);
  }
});

test('declared lengths larger than the input are refused before allocating', () => {
  const encoded = new Writer().varint(1_000_000_000).finish();
  assert.throws(() => new Reader(encoded).varints(1 << 30), DecodeError);
  assert.throws(() => new Reader(encoded).bytes(), DecodeError);
  assert.throws(() => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).varint(), DecodeError);
});

test('a writer with headroom leaves that many free bytes before what it wrote, in the same buffer', () => {
  fc.assert(
    fc.property(fc.nat(255), fc.uint8Array({ maxLength: 70_000 }), fc.boolean(), fc.nat(64), (headroom, bytes, frame, estimate) => {
      // An estimate below the need makes the writer grow; the headroom must survive that.
      const encoded = new Writer(estimate, frame, headroom).bytes(bytes).finish();
      assert.deepEqual(new Reader(encoded).bytes(), bytes);
      assert.ok(encoded.byteOffset >= headroom);
      const room = new Uint8Array(encoded.buffer, encoded.byteOffset - headroom, headroom);
      assert.ok(room.every((byte) => byte === 0), 'the headroom is untouched');
      // The next allocation from the same pool starts after this one: the headroom is not shared.
      const next = new Writer(1, frame).u8(7).finish();
      if (next.buffer === encoded.buffer) assert.ok(next.byteOffset >= encoded.byteOffset + encoded.length);
    }),
    { numRuns: 200 },
  );
});
