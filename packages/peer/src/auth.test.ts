import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SynodError } from '@synod/core';
import { FrameAuthenticator, TAG_BYTES, keyBytes } from './auth.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

function signed(authenticator: FrameAuthenticator, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(body.length + TAG_BYTES);
  frame.set(body);
  authenticator.sign(frame);
  return frame;
}

describe('frame authentication', () => {
  it('tags a frame with HMAC-SHA-256, truncated to 16 bytes, under a key derived by HKDF for the group', () => {
    const secret = utf8('correct horse battery staple');
    const body = utf8('\u0002 any frame bytes');
    const frameKey = Buffer.from(hkdfSync('sha256', secret, utf8('synod/v1 group key'), utf8('frame-auth\u0000sector-D5'), 32));
    const expected = createHmac('sha256', frameKey).update(body).digest().subarray(0, TAG_BYTES);
    const frame = signed(FrameAuthenticator.forGroup(secret, 'sector-D5'), body);
    assert.deepEqual(frame.subarray(body.length), new Uint8Array(expected));
    assert.deepEqual(frame.subarray(0, body.length), body);
  });

  it('verifies what it signed, and nothing with a bit changed anywhere', () => {
    const authenticator = FrameAuthenticator.forGroup('k', 'g');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (body, at, bit) => {
        const frame = signed(authenticator, body);
        assert.equal(authenticator.verify(frame), true);
        const altered = frame.slice();
        altered[at % altered.length] = altered[at % altered.length]! ^ (1 << bit);
        assert.equal(authenticator.verify(altered), false);
        assert.equal(authenticator.verify(frame.subarray(0, frame.length - 1)), false);
      }),
    );
  });

  it('a key is bound to its group, and another key or group never verifies', () => {
    const body = utf8('frame');
    const frame = signed(FrameAuthenticator.forGroup('secret', 'a'), body);
    assert.equal(FrameAuthenticator.forGroup('secret', 'a').verify(frame), true);
    assert.equal(FrameAuthenticator.forGroup('secret', 'b').verify(frame), false);
    assert.equal(FrameAuthenticator.forGroup('secreT', 'a').verify(frame), false);
    // A string key is its UTF-8 bytes.
    assert.equal(FrameAuthenticator.forGroup(utf8('secret'), 'a').verify(frame), true);
  });

  it('never throws on arbitrary or short frames', () => {
    const authenticator = FrameAuthenticator.forGroup(Uint8Array.of(1), 'g');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => assert.equal(authenticator.verify(bytes), false)));
    for (let length = 0; length <= TAG_BYTES; length++) assert.equal(authenticator.verify(new Uint8Array(length)), false);
    assert.throws(() => authenticator.sign(new Uint8Array(TAG_BYTES - 1)), RangeError);
  });

  it('refuses an empty key, or one that is neither bytes nor a string, with INVALID_ARGUMENT', () => {
    for (const key of ['', new Uint8Array(0), 42, null, undefined, [1, 2], new Uint16Array(4), {}]) {
      assert.throws(
        () => FrameAuthenticator.forGroup(key, 'g'),
        (error: unknown) => error instanceof SynodError && error.code === 'INVALID_ARGUMENT',
        String(key),
      );
    }
    assert.deepEqual(keyBytes('é'), Uint8Array.of(0xc3, 0xa9));
  });
});
