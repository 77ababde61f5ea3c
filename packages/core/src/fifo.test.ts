import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stream } from './fifo.js';

const frame = (seqno: number) => Uint8Array.of(seqno & 0xff, seqno >> 8);

test('kept frames survive the ring growing and wrapping, and go once stable', () => {
  const stream = new Stream<number>(4096);
  let expectedBytes = 0;
  // Out of order first (held ahead of a gap), then the gap filled: the ring grows past 64 slots.
  for (let seqno = 300; seqno >= 1; seqno--) {
    const accepted = stream.accept(seqno, seqno, frame(seqno));
    assert.equal(accepted, seqno === 1 ? 'ready' : 'held');
    expectedBytes += 2;
  }
  while (stream.takeNext() !== undefined);
  assert.equal(stream.contiguous, 300);
  assert.equal(stream.storedBytes, expectedBytes);
  assert.deepEqual(stream.storedFrames(299, 400, 10), [frame(299), frame(300)]);
  stream.stabilize(250);
  assert.equal(stream.storedBytes, 50 * 2);
  assert.deepEqual(stream.storedFrames(1, 252, 10), [frame(251), frame(252)]);
  // Far past the first slots: every slot reused many times over.
  for (let seqno = 301; seqno <= 5000; seqno++) {
    assert.equal(stream.accept(seqno, seqno, frame(seqno)), 'ready');
    if (seqno % 100 === 0) stream.stabilize(seqno - 50);
  }
  assert.equal(stream.storedBytes, 50 * 2);
  assert.deepEqual(stream.storedFrames(4950, 4952, 10), [frame(4951), frame(4952)]);
  assert.equal(stream.accept(4000, 4000, frame(4000)), 'ignored');
});

test('a retransmission request for an enormous range visits only what can be kept', () => {
  const stream = new Stream<number>(1024);
  for (let seqno = 1; seqno <= 10; seqno++) stream.accept(seqno, seqno, frame(seqno));
  const started = performance.now();
  assert.deepEqual(stream.storedFrames(1, Number.MAX_SAFE_INTEGER, 1000).length, 10);
  assert.deepEqual(stream.storedFrames(2 ** 40, 2 ** 52, 1000), []);
  assert.ok(performance.now() - started < 1000);
});

test('missing: every hole up to the known end, within the range and unit limits; heard-of units only when asked', () => {
  const stream = new Stream<number>(4096);
  // Held: 1, then 3, 6-7, 10; the sender said it sent up to 12; another member holds up to 15.
  for (const seqno of [1, 3, 6, 7, 10]) stream.accept(seqno, seqno, frame(seqno));
  while (stream.takeNext() !== undefined);
  stream.learnMax(12);
  stream.learnMax(15, false);
  assert.deepEqual(stream.missing(256, false, 16), [
    { from: 2, to: 2 },
    { from: 4, to: 5 },
    { from: 8, to: 9 },
    { from: 11, to: 12 },
  ]);
  assert.deepEqual(stream.missing(256, true, 16).at(-1), { from: 11, to: 15 });
  assert.deepEqual(stream.missing(256, false, 2), [
    { from: 2, to: 2 },
    { from: 4, to: 5 },
  ]);
  assert.deepEqual(stream.missing(4, false, 16), [
    { from: 2, to: 2 },
    { from: 4, to: 5 },
    { from: 8, to: 8 },
  ]);
});
