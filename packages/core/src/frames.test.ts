import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvariantViolation } from './errors.js';
import {
  DeferredReleases,
  allocFrameBytes,
  copyFrameBytes,
  framePoolStats,
  releaseFrameBytes,
  retainFrameBytes,
  setFramePoolChecks,
} from './frames.js';

/** Carves frames until a new slab opens (sealing the current one), then releases them all. */
function openNewSlab(): void {
  const frames = [allocFrameBytes(8)];
  while (frames[frames.length - 1]!.buffer === frames[0]!.buffer) frames.push(allocFrameBytes(60 * 1024));
  for (const frame of frames) releaseFrameBytes(frame);
}

test('a slab comes back, zeroed, once it is sealed and every frame carved from it is released', () => {
  setFramePoolChecks(false);
  openNewSlab();
  const a = allocFrameBytes(1000).fill(9);
  const b = copyFrameBytes(new Uint8Array(2000).fill(7));
  const slab = a.buffer;
  assert.equal(b.buffer, slab, 'frames share a slab');
  retainFrameBytes(b.subarray(10, 20)); // a second holder of b: any view counts for its slab
  const before = framePoolStats();
  openNewSlab();
  releaseFrameBytes(a);
  releaseFrameBytes(b);
  assert.equal(framePoolStats().slabsRecycled, before.slabsRecycled, 'one reference is still held');
  assert.ok(b.every((byte) => byte === 7), 'a held frame is intact');
  releaseFrameBytes(b.subarray(10, 20));
  assert.equal(framePoolStats().slabsRecycled, before.slabsRecycled + 1);
  assert.ok(new Uint8Array(slab).every((byte) => byte === 0), 'zeroed for its next use');
  const allocated = framePoolStats().slabsAllocated;
  openNewSlab(); // its slab comes from the free list
  assert.equal(framePoolStats().slabsAllocated, allocated, 'no new slab: an empty one was used again');
});

test('a release too many throws while the slab is in use, and with checks at any time', () => {
  setFramePoolChecks(false);
  openNewSlab();
  const frame = allocFrameBytes(100);
  const sibling = allocFrameBytes(100);
  releaseFrameBytes(frame);
  releaseFrameBytes(sibling);
  assert.throws(() => releaseFrameBytes(sibling), InvariantViolation, 'the current slab has no reference left');
  assert.throws(() => retainFrameBytes(frame), InvariantViolation);
  setFramePoolChecks(true);
  const checked = allocFrameBytes(100);
  releaseFrameBytes(checked);
  assert.throws(() => releaseFrameBytes(checked), InvariantViolation);
  setFramePoolChecks(false);
});

test('with checks, a frame is poisoned at its last release and never used again', () => {
  setFramePoolChecks(true);
  const frame = copyFrameBytes(new Uint8Array(64).fill(1));
  assert.equal(frame.byteOffset, 0, 'a slab of its own');
  assert.equal(frame.buffer.byteLength, 64);
  retainFrameBytes(frame);
  releaseFrameBytes(frame);
  assert.ok(frame.every((byte) => byte === 1), 'still referenced: intact');
  releaseFrameBytes(frame);
  assert.ok(frame.every((byte) => byte === 0xdb), 'poisoned');
  assert.notEqual(allocFrameBytes(64).buffer, frame.buffer);
  setFramePoolChecks(false);
});

test('bytes from elsewhere are not counted: retain and release do nothing', () => {
  const plain = new Uint8Array(10).fill(3);
  retainFrameBytes(plain);
  releaseFrameBytes(plain);
  releaseFrameBytes(plain);
  assert.ok(plain.every((byte) => byte === 3));
  const large = allocFrameBytes(100 * 1024); // past the pooled size: an ArrayBuffer of its own
  assert.equal(large.byteOffset, 0);
  releaseFrameBytes(large);
});

test('deferred releases wait for the takeOutput() after the one that followed them', () => {
  setFramePoolChecks(true);
  const releases = new DeferredReleases();
  const frame = copyFrameBytes(new Uint8Array(32).fill(5));
  releases.add(frame);
  releases.turn(); // the output that may hold it goes to the runtime
  assert.ok(frame.every((byte) => byte === 5), 'still valid while the runtime handles that output');
  releases.turn(); // the runtime is done with it
  assert.ok(frame.every((byte) => byte === 0xdb));
  setFramePoolChecks(false);
});
