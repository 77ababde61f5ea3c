import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvariantViolation } from '@synod/core';
import { FrameAuthenticator, TAG_BYTES } from './auth.js';
import { ENVELOPE_VERSION_AUTHENTICATED, ENVELOPE_VERSION_CONTROL, addressOf, decodeFrame, encodeFrame, envelopeHeader, memberIdOf } from './envelope.js';

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
    for (const version of [0, 3, 255]) assert.equal(decodeFrame(Uint8Array.of(version, ...good.subarray(1))), undefined);
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

  it('version 2: the payload excludes the trailing tag, which covers the whole frame before it', () => {
    const authenticator = FrameAuthenticator.forGroup('key', 'g');
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 200 }), (address, payload) => {
        const header = envelopeHeader('g', memberIdOf(address, 1), ENVELOPE_VERSION_AUTHENTICATED);
        const frame = encodeFrame(header, payload, authenticator);
        assert.equal(frame.length, header.length + payload.length + TAG_BYTES);
        const envelope = decodeFrame(frame);
        assert.ok(envelope);
        assert.equal(envelope.authenticated, true);
        assert.deepEqual(envelope.payload, payload);
        assert.equal(authenticator.verify(frame), true);
      }),
    );
    const plain = decodeFrame(encodeFrame(envelopeHeader('g', 'a/1'), Uint8Array.of(1, 2)));
    assert.equal(plain?.authenticated, false);
  });

  it('version 2: a frame too short for its tag is malformed; a header and authenticator must agree', () => {
    const authenticator = FrameAuthenticator.forGroup('key', 'g');
    const frame = encodeFrame(envelopeHeader('g', 'a/1', ENVELOPE_VERSION_AUTHENTICATED), new Uint8Array(0), authenticator);
    for (let length = 0; length < frame.length; length++) assert.equal(decodeFrame(frame.subarray(0, length)), undefined);
    assert.ok(decodeFrame(frame));
    assert.throws(() => encodeFrame(envelopeHeader('g', 'a/1', ENVELOPE_VERSION_AUTHENTICATED), Uint8Array.of(1)), InvariantViolation);
    assert.throws(() => encodeFrame(envelopeHeader('g', 'a/1'), Uint8Array.of(1), authenticator), InvariantViolation);
  });

  it('version 3: a keyed control frame, tagged like version 2', () => {
    const authenticator = FrameAuthenticator.forGroup('key', 'g');
    const frame = encodeFrame(envelopeHeader('g', 'a/1', ENVELOPE_VERSION_CONTROL), Uint8Array.of(1, 2), authenticator);
    const envelope = decodeFrame(frame);
    assert.deepEqual(envelope, { group: 'g', sender: 'a/1', payload: Uint8Array.of(1, 2), authenticated: true, control: true });
    assert.equal(authenticator.verify(frame), true);
    assert.equal(decodeFrame(encodeFrame(envelopeHeader('g', 'a/1', ENVELOPE_VERSION_AUTHENTICATED), Uint8Array.of(1), authenticator))?.control, false);
  });

  it('writes the header in place when the payload has room for it, and copies otherwise', () => {
    const header = envelopeHeader('g', memberIdOf('peer-a', 3));
    const buffer = new Uint8Array(header.length + 5);
    const payload = buffer.subarray(header.length);
    payload.set([1, 2, 3, 4, 5]);
    const inPlace = encodeFrame(header, payload, undefined, header.length);
    assert.equal(inPlace.buffer, buffer.buffer, 'no copy');
    assert.equal(inPlace.byteOffset, 0);
    assert.deepEqual(decodeFrame(inPlace)?.payload, payload);
    // Sent again (a retransmission), the same bytes: what a transport may still hold is unchanged.
    const before = Uint8Array.from(inPlace);
    encodeFrame(header, payload, undefined, header.length);
    assert.deepEqual(inPlace, before);
    // Too little room, or a tag to append: a copy, and the bytes before the payload are untouched.
    const short = encodeFrame(header, payload, undefined, header.length - 1);
    assert.notEqual(short.buffer, buffer.buffer);
    assert.deepEqual(decodeFrame(short)?.payload, payload);
    const authenticator = FrameAuthenticator.forGroup('key', 'g');
    const keyed = envelopeHeader('g', memberIdOf('peer-a', 3), ENVELOPE_VERSION_AUTHENTICATED);
    const signed = encodeFrame(keyed, payload, authenticator, 255);
    assert.notEqual(signed.buffer, buffer.buffer);
    assert.equal(signed.length, keyed.length + payload.length + TAG_BYTES);
  });
});
