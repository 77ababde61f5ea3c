import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addressOf, decodeFrame, encodeFrame, envelopeHeader, memberIdOf } from './envelope.js';

describe('envelope', () => {
  it('round-trips group, sender and payload', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.nat(1000),
        fc.uint8Array({ maxLength: 200 }),
        (group, address, incarnation, payload) => {
          const sender = memberIdOf(address, incarnation);
          const envelope = decodeFrame(encodeFrame(envelopeHeader(group, sender), payload));
          assert.ok(envelope);
          assert.equal(envelope.group, group);
          assert.equal(envelope.sender, sender);
          assert.equal(addressOf(envelope.sender), address);
          assert.deepEqual(envelope.payload, payload);
        },
      ),
    );
  });

  it('never throws on arbitrary bytes, and rejects every strict prefix of a header', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void decodeFrame(bytes)));
    const header = envelopeHeader('sector-D5', 'peer-a/3');
    for (let length = 0; length < header.length; length++) assert.equal(decodeFrame(header.subarray(0, length)), undefined);
    assert.ok(decodeFrame(header));
  });

  it('rejects another version, empty names, bad UTF-8 and member ids without an address', () => {
    const good = encodeFrame(envelopeHeader('g', 'a/1'), Uint8Array.of(7));
    assert.ok(decodeFrame(good));
    assert.equal(decodeFrame(Uint8Array.of(2, ...good.subarray(1))), undefined);
    assert.equal(decodeFrame(Uint8Array.of(1, 0, 3, 0x61, 0x2f, 0x31)), undefined); // empty group
    assert.equal(decodeFrame(Uint8Array.of(1, 1, 0x67, 0)), undefined); // empty sender
    assert.equal(decodeFrame(Uint8Array.of(1, 1, 0xff, 3, 0x61, 0x2f, 0x31)), undefined); // bad UTF-8
    for (const sender of ['a', '/1', 'a/']) assert.equal(decodeFrame(encodeFrame(envelopeHeader('g', sender), Uint8Array.of())), undefined);
  });

  it('maps a member id to its address by the last slash', () => {
    assert.equal(addressOf('peer/7'), 'peer');
    assert.equal(addressOf('ws://host/peer/7'), 'ws://host/peer');
    assert.equal(addressOf('nope'), undefined);
    assert.throws(() => envelopeHeader('x'.repeat(256), 'a/1'), RangeError);
  });
});
