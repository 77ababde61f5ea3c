import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PendingSends, type PendingSend } from './pending-sends.js';

const entry = (id: number): PendingSend<number> => ({ resolve: () => id, reject: () => id });

test('pending sends: taken in order, out of order, and all at once', () => {
  const table = new PendingSends<number>();
  const entries = Array.from({ length: 300 }, (_, i) => entry(i + 1));
  entries.forEach((e, i) => table.add(i + 1, e));
  assert.equal(table.size, 300);
  assert.equal(table.take(1), entries[0]);
  assert.equal(table.take(1), undefined, 'a settled id is gone');
  assert.equal(table.take(150), entries[149]);
  assert.equal(table.take(999), undefined, 'an id never added');
  assert.equal(table.take(0), undefined);
  assert.equal(table.size, 298);
  const rest = table.takeAll();
  assert.deepEqual(rest, entries.filter((_, i) => i !== 0 && i !== 149));
  assert.equal(table.size, 0);
  table.add(301, entries[0]!);
  assert.equal(table.take(301), entries[0]);
});

test('pending sends: any interleaving of adds and takes matches a Map', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(40)), { maxLength: 400 }), (ops) => {
      const table = new PendingSends<number>();
      const model = new Map<number, PendingSend<number>>();
      let next = 1;
      for (const [add, pick] of ops) {
        if (add) {
          const e = entry(next);
          table.add(next, e);
          model.set(next++, e);
        } else {
          // Mostly near the oldest ids, sometimes past the end.
          const id = Math.max(1, next - 1 - pick);
          assert.equal(table.take(id), model.get(id));
          model.delete(id);
        }
        assert.equal(table.size, model.size);
      }
      assert.deepEqual(table.takeAll(), [...model.values()]);
    }),
  );
});
