import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkCount, chunkOf } from './frag.js';

test('chunkOf splits a payload into chunkCount fragments that put it back together', () => {
  for (const length of [0, 1, 99, 100, 101, 250, 300]) {
    const payload = Uint8Array.from({ length }, (_, i) => i & 0xff);
    const count = chunkCount(length, 100);
    assert.equal(count, Math.max(1, Math.ceil(length / 100)));
    const chunks = Array.from({ length: count }, (_, index) => chunkOf(payload, index, 100));
    assert.ok(chunks.every((chunk) => chunk.length <= 100 && (chunk.length > 0 || length === 0)));
    assert.deepEqual(Uint8Array.from(chunks.flatMap((chunk) => [...chunk])), payload);
  }
  const single = new Uint8Array(100);
  assert.equal(chunkOf(single, 0, 100), single, 'a one-fragment payload is not re-viewed');
});
