import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { candidateLine, parseEnvelope, parseSignal } from './signal.js';

describe('simple-peer signal format', () => {
  it('accepts what simple-peer emits', () => {
    assert.deepEqual(parseSignal({ type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }), { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' });
    assert.deepEqual(parseSignal({ type: 'answer', sdp: 'v=0\r\n' }), { type: 'answer', sdp: 'v=0\r\n' });
    assert.deepEqual(
      parseSignal({ type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMLineIndex: 0, sdpMid: '0' } }),
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMLineIndex: 0, sdpMid: '0' } },
    );
    assert.deepEqual(parseSignal({ type: 'candidate', candidate: { candidate: 'candidate:x' } }), {
      type: 'candidate',
      candidate: { candidate: 'candidate:x', sdpMLineIndex: null, sdpMid: null },
    });
    assert.deepEqual(parseSignal({ type: 'renegotiate', renegotiate: true }), { type: 'renegotiate', renegotiate: true });
    assert.deepEqual(parseSignal({ type: 'transceiverRequest', transceiverRequest: { kind: 'audio', init: {} } }), {
      type: 'transceiverRequest',
      transceiverRequest: { kind: 'audio' },
    });
  });

  it('refuses hostile or malformed signals without throwing', () => {
    const hostile: unknown[] = [
      null,
      undefined,
      42,
      'offer',
      [],
      {},
      { type: 'offer' },
      { type: 'offer', sdp: 7 },
      { type: 'offer', sdp: '' },
      { type: 'offer', sdp: 'not an sdp' },
      { type: 'answer', sdp: `v=0${'x'.repeat(20_000)}` },
      { type: 'candidate' },
      { type: 'candidate', candidate: 'candidate:1' },
      { type: 'candidate', candidate: { candidate: 5 } },
      { type: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: -1 } },
      { type: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: 1.5 } },
      { type: 'candidate', candidate: { candidate: 'c', sdpMid: {} } },
      { type: 'candidate', candidate: { candidate: 'c'.repeat(5000) } },
      { type: 'renegotiate', renegotiate: 'yes' },
      { type: 'transceiverRequest', transceiverRequest: { kind: 1 } },
      { type: '__proto__' },
    ];
    for (const value of hostile) assert.equal(parseSignal(value), undefined, JSON.stringify(value));
  });

  it('wraps a signal in an envelope naming the connection attempt', () => {
    const signal = { type: 'answer', sdp: 'v=0\r\n' };
    assert.deepEqual(parseEnvelope({ v: 1, link: '0123abcd', signal }), { v: 1, link: '0123abcd', signal });
    assert.equal(parseEnvelope({ v: 2, link: '0123abcd', signal }), undefined);
    assert.equal(parseEnvelope({ v: 1, link: 'short', signal }), undefined);
    assert.equal(parseEnvelope({ v: 1, link: 'UPPER-case!', signal }), undefined);
    assert.equal(parseEnvelope({ v: 1, link: '0123abcd', signal: { type: 'offer' } }), undefined);
    assert.equal(parseEnvelope(['v', 1]), undefined);
  });

  it('writes candidate lines as browsers expect them', () => {
    assert.equal(candidateLine('a=candidate:1 1 UDP 2114977791 127.0.0.1 49451 typ host'), 'candidate:1 1 UDP 2114977791 127.0.0.1 49451 typ host');
    assert.equal(candidateLine('candidate:1 1 udp 1 ::1 5 typ host'), 'candidate:1 1 udp 1 ::1 5 typ host');
    assert.equal(candidateLine(''), undefined);
    assert.equal(candidateLine('a='), undefined);
  });
});
