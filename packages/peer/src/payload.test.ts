import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NoReplyReason, decodePayload, encodeBody, encodeMessage, encodeNoReply, encodeReply } from './payload.js';

describe('payload codec', () => {
  it('keeps the type of the data: bytes, text, JSON, nothing', () => {
    const cases: unknown[] = [Uint8Array.of(0, 255), new Uint8Array(0), '', 'héllo', 0, false, null, [1, 'a'], { a: { b: [] } }, undefined];
    for (const data of cases) {
      const decoded = decodePayload(encodeMessage('K', undefined, encodeBody(data)));
      assert.ok(decoded?.type === 'message');
      assert.deepEqual(decoded.body.data, data);
    }
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    const fromBuffer = decodePayload(encodeMessage('K', undefined, encodeBody(buffer)));
    assert.deepEqual(fromBuffer?.type === 'message' && fromBuffer.body.data, Uint8Array.of(1, 2, 3));
  });

  it('round-trips messages, replies and no-replies', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.option(fc.maxSafeNat(), { nil: undefined }),
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (kind, requestNo, bytes, requester) => {
          const body = encodeBody(bytes);
          assert.deepEqual(decodePayload(encodeMessage(kind, requestNo, body)), {
            type: 'message',
            kind,
            requestNo,
            body: { bytes, data: bytes },
          });
          const number = requestNo ?? 1;
          assert.deepEqual(decodePayload(encodeReply(requester, number, body)), {
            type: 'reply',
            requester,
            requestNo: number,
            body: { bytes, data: bytes },
          });
          assert.deepEqual(decodePayload(encodeNoReply(requester, number, NoReplyReason.Declined)), {
            type: 'noReply',
            requester,
            requestNo: number,
            reason: NoReplyReason.Declined,
          });
        },
      ),
    );
  });

  it('never throws on arbitrary bytes, and rejects truncations', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => void decodePayload(bytes)));
    const reply = encodeReply('a/1', 300, encodeBody({ x: 1 }));
    for (let length = 0; length < reply.length; length++) assert.equal(decodePayload(reply.subarray(0, length)), undefined);
    assert.equal(decodePayload(Uint8Array.of(1, 0, 1, 0x4b, 2, 0x7b)), undefined); // truncated JSON
    assert.equal(decodePayload(Uint8Array.of(1, 0, 1, 0x4b, 9)), undefined); // unknown body tag
    assert.equal(decodePayload(Uint8Array.of(1, 0, 1, 0x4b, 3, 0)), undefined); // bytes after "nothing"
  });

  it('refuses data that cannot travel', () => {
    for (const data of [() => 1, Symbol('s'), new Uint16Array(1), 10n]) {
      assert.throws(() => encodeBody(data), { name: 'SynodError', code: 'INVALID_ARGUMENT' });
    }
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    assert.throws(() => encodeBody(cyclic), { code: 'INVALID_ARGUMENT' });
  });
});
