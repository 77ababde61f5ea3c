import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PendingSends } from './pending-sends.js';

/** Each promise's outcome once settled: 'ok:<value>' or 'err:<message>'. */
function watch(promise: Promise<number>, outcomes: Map<number, string>, id: number): void {
  promise.then(
    (value) => void outcomes.set(id, `ok:${value}`),
    (error: Error) => void outcomes.set(id, `err:${error.message}`),
  );
}
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('pending sends: resolved in order, out of order, and the rest rejected at once', async () => {
  const table = new PendingSends<number>();
  const outcomes = new Map<number, string>();
  for (let id = 1; id <= 300; id++) watch(table.add(id), outcomes, id);
  assert.equal(table.size, 300);
  assert.equal(table.resolve(1, 10), true);
  assert.equal(table.resolve(1, 11), false, 'a settled id is gone');
  assert.equal(table.resolve(150, 1500), true);
  assert.equal(table.resolve(999, 0), false, 'an id never added');
  assert.equal(table.resolve(0, 0), false);
  assert.equal(table.size, 298);
  table.rejectAll(new Error('gone'));
  assert.equal(table.size, 0);
  watch(table.add(301), outcomes, 301);
  assert.equal(table.resolve(301, 3010), true);
  await settle();
  assert.equal(outcomes.get(1), 'ok:10');
  assert.equal(outcomes.get(150), 'ok:1500');
  assert.equal(outcomes.get(2), 'err:gone');
  assert.equal(outcomes.get(300), 'err:gone');
  assert.equal(outcomes.get(301), 'ok:3010');
  assert.equal(outcomes.size, 301);
});

test('pending sends: any interleaving of adds and resolves matches a Map', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), fc.nat(40)), { maxLength: 400 }), async (ops) => {
      const table = new PendingSends<number>();
      const model = new Set<number>();
      const outcomes = new Map<number, string>();
      let next = 1;
      for (const [add, pick] of ops) {
        if (add) {
          watch(table.add(next), outcomes, next);
          model.add(next++);
        } else {
          // Mostly near the newest ids, sometimes below the oldest.
          const id = Math.max(1, next - 1 - pick);
          assert.equal(table.resolve(id, id), model.delete(id));
        }
        assert.equal(table.size, model.size);
      }
      table.rejectAll(new Error('end'));
      await settle();
      for (let id = 1; id < next; id++) assert.equal(outcomes.get(id), model.has(id) ? 'err:end' : `ok:${id}`);
    }),
    { numRuns: 50 },
  );
});

test('pending sends: an id that does not increase is a bug, and an emptied ring starts over small', async () => {
  const table = new PendingSends<number>();
  const outcomes = new Map<number, string>();
  for (let id = 1; id <= 5000; id++) watch(table.add(id), outcomes, id);
  assert.throws(() => table.add(5000), /must increase/);
  assert.throws(() => table.add(3), /must increase/);
  for (let id = 1; id <= 5000; id++) table.resolve(id, id);
  watch(table.add(5001), outcomes, 5001);
  assert.ok((table as unknown as { resolves: unknown[] }).resolves.length <= 64, 'the burst ring was dropped');
  table.resolve(5001, 1);
  await settle();
  assert.equal(outcomes.size, 5001);
});
