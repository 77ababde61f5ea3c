import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, encodeFrame } from '../src/wire.js';
import { Harness } from './harness.js';

const text = new TextEncoder();

/** A group of three with traffic, whose frames we capture to mutate. */
function capture(): { h: Harness; frames: Uint8Array[] } {
  const h = new Harness();
  for (const id of ['a', 'b', 'c']) h.add(id);
  const frames: Uint8Array[] = [];
  h.drop = (_from, _to, bytes) => {
    // A plain copy: the sender's frame goes back to the pool after its next output (api.ts), and
    // a plain frame may be fed to a member any number of times (it holds no pool reference).
    if (frames.length < 500) frames.push(bytes.slice());
    return false;
  };
  h.do('a', (m) => m.join([], 0));
  h.at(5, () => h.do('b', (m) => m.join(['a'], h.nowMs)));
  h.at(10, () => h.do('c', (m) => m.join(['a'], h.nowMs)));
  h.run(500);
  for (const order of ['fifo', 'causal', 'total', 'safe'] as const) h.do('b', (m) => m.send(order, text.encode(order.repeat(3000)), h.nowMs));
  h.run(800);
  return { h, frames };
}

test('random, truncated and mutated frames never crash a member and are counted', () => {
  const { h, frames } = capture();
  // The mutations start from real frames, data frames among them (not from released, poisoned ones).
  const kinds = frames.map((f) => decodeFrame(f, 1 << 20).frame.kind);
  assert.ok(kinds.filter((kind) => kind === 'data').length >= 10, `data frames captured: ${kinds.join(' ')}`);
  const victim = h.members.get('c')!;
  const before = victim.stats.droppedMalformed;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 2000 }),
        fc.tuple(fc.constantFrom(...frames), fc.nat()).map(([f, cut]) => f.subarray(0, cut % Math.max(1, f.length))),
        fc.tuple(fc.constantFrom(...frames), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, at, byte]) => {
          const copy = f.slice();
          copy[at % copy.length] = byte;
          return copy;
        }),
      ),
      fc.constantFrom('a', 'b', 'mallory'),
      (bytes, from) => {
        victim.receive(from, bytes, h.nowMs);
        victim.takeOutput();
      },
    ),
    { numRuns: 3000 },
  );
  assert.ok(victim.stats.droppedMalformed > before);
  assert.ok(victim.view, 'still a member');
});

test('frames from a non-member are dropped and counted, not delivered', () => {
  const { h } = capture();
  const victim = h.members.get('c')!;
  const viewId = victim.view!.viewId;
  const forged = encodeFrame('g', {
    kind: 'data',
    viewId,
    senderIndex: 0,
    seqno: 1_000,
    unit: { order: 'fifo', first: true, last: true, messageBytes: 4, vectorClock: undefined, chunk: text.encode('evil') },
  });
  const before = victim.stats.droppedNonMember;
  const delivered = h.deliveries('c').length;
  victim.receive('mallory', forged, h.nowMs);
  const output = victim.takeOutput();
  assert.equal(victim.stats.droppedNonMember, before + 1);
  assert.equal(output.upcalls.filter((u) => u.type === 'deliver').length, 0);
  assert.equal(h.deliveries('c').length, delivered);
});

test('a frame declaring a message over maxMessageBytes is dropped', () => {
  const { h } = capture();
  const victim = h.members.get('c')!;
  const viewId = victim.view!.viewId;
  const huge = encodeFrame('g', {
    kind: 'data',
    viewId,
    senderIndex: 0,
    seqno: 99,
    unit: { order: 'fifo', first: true, last: false, messageBytes: 1e12, vectorClock: undefined, chunk: new Uint8Array(10) },
  });
  const before = victim.stats.droppedMalformed;
  victim.receive('a', huge, h.nowMs);
  assert.equal(victim.stats.droppedMalformed, before + 1);
});

test('a packed unit that is not a pack (or not whole) is dropped, not delivered', () => {
  const { h } = capture();
  const victim = h.members.get('c')!;
  const viewId = victim.view!.viewId;
  const packedFrame = (first: boolean, parts: Uint8Array[], seqno: number) => {
    const messageBytes = parts.reduce((sum, part) => sum + 1 + part.length, 1);
    return encodeFrame('g', { kind: 'data', viewId, senderIndex: 0, seqno, unit: { order: 'fifo', first, last: true, messageBytes, vectorClock: undefined, chunk: new Uint8Array(0), parts } });
  };
  const before = victim.stats.droppedMalformed;
  const delivered = h.deliveries('c').length;
  const overcounted = packedFrame(true, [Uint8Array.of(7), Uint8Array.of(8)], 500);
  overcounted[overcounted.length - 5] = 5; // five messages declared, two there
  victim.receive('a', overcounted, h.nowMs);
  victim.receive('a', packedFrame(false, [Uint8Array.of(7), Uint8Array.of(8)], 501), h.nowMs); // a pack is never a later fragment
  victim.receive('a', packedFrame(true, [Uint8Array.of(7)], 502), h.nowMs); // one message is not a pack
  h.flush('c');
  assert.equal(victim.stats.droppedMalformed, before + 3);
  assert.equal(h.deliveries('c').length, delivered);
  assert.ok(victim.view, 'still a member');
});
