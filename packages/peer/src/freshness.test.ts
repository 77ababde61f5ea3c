import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CHALLENGE_AGAIN_AFTER_MS,
  ControlKind,
  HOLD_FOR_MS,
  LivenessGate,
  VERIFIED_FOR_MS,
  decodeControl,
  encodeControl,
} from './freshness.js';

interface Harness {
  gate: LivenessGate;
  nowMs: number;
  members: Set<string>;
  sent: { to: string; kind: number; nonce: Uint8Array; target: string }[];
  released: string[];
  dropped: number;
}

function harness(self = 'me/1'): Harness {
  let counter = 0;
  const h: Harness = {
    nowMs: 1000,
    members: new Set([self, 'member/1']),
    sent: [],
    released: [],
    dropped: 0,
    gate: undefined!,
  };
  h.gate = new LivenessGate({
    self,
    now: () => h.nowMs,
    random: () => (++counter % 1000) / 1000,
    isMember: (sender) => h.members.has(sender),
    sendControl: (to, bytes) => h.sent.push({ to, ...decodeControl(bytes)! }),
    release: (sender, payload) => h.released.push(`${sender}:${payload[0]}`),
    dropped: (count) => (h.dropped += count),
  });
  return h;
}

const frame = (n: number) => Uint8Array.of(n);
const response = (nonce: Uint8Array, target = 'me/1') => encodeControl(ControlKind.Response, nonce, target);

describe('liveness gate', () => {
  it('admits members and self at once', () => {
    const h = harness();
    assert.equal(h.gate.admit('member/1', frame(1)), true);
    assert.equal(h.gate.admit('me/1', frame(2)), true);
    assert.deepEqual(h.sent, []);
  });

  it('holds a stranger\'s frames, challenges it, and releases them in order when it echoes the nonce', () => {
    const h = harness();
    assert.equal(h.gate.admit('joiner/1', frame(1)), false);
    assert.equal(h.gate.admit('joiner/1', frame(2)), false);
    assert.equal(h.sent.length, 1);
    const [challenge] = h.sent;
    assert.equal(challenge!.to, 'joiner/1');
    assert.equal(challenge!.kind, ControlKind.Challenge);
    assert.equal(challenge!.target, 'joiner/1');
    // Wrong nonce, a response naming someone else, or from another sender: ignored.
    h.gate.control('joiner/1', response(new Uint8Array(8)));
    h.gate.control('joiner/1', response(challenge!.nonce, 'other/1'));
    h.gate.control('other/1', response(challenge!.nonce));
    assert.deepEqual(h.released, []);
    h.gate.control('joiner/1', response(challenge!.nonce));
    assert.deepEqual(h.released, ['joiner/1:1', 'joiner/1:2']);
    // Proven: admitted at once, until the proof expires.
    assert.equal(h.gate.admit('joiner/1', frame(3)), true);
    h.nowMs += VERIFIED_FOR_MS;
    assert.equal(h.gate.admit('joiner/1', frame(4)), false);
    assert.equal(h.sent.length, 2);
    // A replayed response (the old nonce) proves nothing.
    h.gate.control('joiner/1', response(challenge!.nonce));
    assert.deepEqual(h.released, ['joiner/1:1', 'joiner/1:2']);
  });

  it('challenges again when a stranger keeps sending, and still accepts an answer to an earlier challenge', () => {
    const h = harness();
    h.gate.admit('slow/1', frame(1));
    h.nowMs += CHALLENGE_AGAIN_AFTER_MS - 1;
    h.gate.admit('slow/1', frame(2));
    assert.equal(h.sent.length, 1);
    h.nowMs += 1;
    h.gate.admit('slow/1', frame(3));
    assert.equal(h.sent.length, 2);
    assert.notDeepEqual(h.sent[1]!.nonce, h.sent[0]!.nonce);
    h.gate.control('slow/1', response(h.sent[0]!.nonce));
    assert.deepEqual(h.released, ['slow/1:1', 'slow/1:2', 'slow/1:3']);
  });

  it('answers a challenge for its own member id only', () => {
    const h = harness();
    const nonce = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    h.gate.control('asker/1', encodeControl(ControlKind.Challenge, nonce, 'me/0')); // a former incarnation
    assert.deepEqual(h.sent, []);
    h.gate.control('asker/1', encodeControl(ControlKind.Challenge, nonce, 'me/1'));
    assert.deepEqual(h.sent, [{ to: 'asker/1', kind: ControlKind.Response, nonce, target: 'asker/1' }]);
  });

  it('a member that left must prove itself again', () => {
    const h = harness();
    h.gate.admit('j/1', frame(1));
    h.gate.control('j/1', response(h.sent[0]!.nonce));
    assert.equal(h.gate.admit('j/1', frame(2)), true);
    h.gate.viewInstalled(['j/1']);
    assert.equal(h.gate.admit('j/1', frame(3)), false);
  });

  it('drops and counts what it cannot keep: overflow, frames held too long, the oldest stranger', () => {
    const h = harness();
    for (let n = 0; n < 20; n++) h.gate.admit('ghost/1', frame(n));
    assert.equal(h.dropped, 4);
    assert.equal(h.gate.heldFrames, 16);
    h.nowMs += HOLD_FOR_MS;
    h.gate.sweep();
    assert.equal(h.dropped, 20);
    assert.equal(h.gate.heldFrames, 0);
    for (let n = 0; n < 65; n++) h.gate.admit(`ghost/${n + 2}`, frame(n));
    assert.equal(h.dropped, 21);
    assert.equal(h.gate.heldFrames, 64);
  });

  it('control frames: round trip, and never a throw on arbitrary bytes', () => {
    const nonce = Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2);
    assert.deepEqual(decodeControl(encodeControl(ControlKind.Challenge, nonce, 'peer/3')), { kind: 1, nonce, target: 'peer/3' });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => void decodeControl(bytes)));
    assert.equal(decodeControl(Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0, 0, 0x61)), undefined);
    assert.equal(decodeControl(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0)), undefined); // no target
    const harnessed = harness();
    harnessed.gate.control('x/1', Uint8Array.of(7));
    assert.deepEqual(harnessed.sent, []);
  });
});
