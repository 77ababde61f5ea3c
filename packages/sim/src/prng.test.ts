import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Prng, hash32 } from './prng.js';

const take = (prng: Prng, count: number): number[] => Array.from({ length: count }, () => prng.nextUint32());

describe('Prng', () => {
  it('is a function of its seed', () => {
    assert.deepEqual(take(new Prng(42), 100), take(new Prng(42), 100));
    assert.notDeepEqual(take(new Prng(42), 10), take(new Prng(43), 10));
  });

  it('derives independent streams without advancing the parent', () => {
    const parent = new Prng(7);
    const child = parent.derive('network');
    assert.deepEqual(take(parent, 5), take(new Prng(7), 5));
    assert.deepEqual(take(child, 5), take(new Prng(7).derive('network'), 5));
    assert.notDeepEqual(take(new Prng(7).derive('network'), 5), take(new Prng(7).derive('app'), 5));
  });

  it('keeps int() inside its inclusive bounds and reaches both ends', () => {
    const prng = new Prng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const value = prng.int(3, 7);
      assert.ok(value >= 3 && value <= 7 && Number.isInteger(value));
      seen.add(value);
    }
    assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7]);
    assert.throws(() => prng.int(2, 1), RangeError);
  });

  it('draws next() in [0, 1) with a plausible mean', () => {
    const prng = new Prng(99);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const value = prng.next();
      assert.ok(value >= 0 && value < 1);
      sum += value;
    }
    assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
  });

  it('honours chance() extremes and roughly its probability', () => {
    const prng = new Prng(5);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) {
      assert.equal(prng.chance(0), false);
      if (prng.chance(0.3)) hits++;
    }
    assert.ok(Math.abs(hits / 10_000 - 0.3) < 0.02);
  });

  it('shuffles into a permutation and picks members', () => {
    const prng = new Prng(3);
    const items = Array.from({ length: 20 }, (_, i) => i);
    const shuffled = prng.shuffle([...items]);
    assert.deepEqual([...shuffled].sort((a, b) => a - b), items);
    assert.notDeepEqual(shuffled, items);
    assert.ok(items.includes(prng.pick(items)));
    assert.throws(() => prng.pick([]), RangeError);
  });

  it('weighs picks by weight and never picks a zero weight', () => {
    const prng = new Prng(11);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) counts[prng.weighted({ a: 1, b: 3, c: 0 })]++;
    assert.equal(counts.c, 0);
    assert.ok(Math.abs(counts.b / counts.a - 3) < 0.4);
  });

  it('hashes strings stably and spreads them', () => {
    assert.equal(hash32('n1:3:7'), hash32('n1:3:7'));
    assert.notEqual(hash32('n1:3:7'), hash32('n1:3:8'));
    assert.notEqual(hash32('x', 1), hash32('x', 2));
  });
});
