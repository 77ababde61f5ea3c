import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { rendezvousOwner, rendezvousRank } from './balance.js';

const memberIds = fc.uniqueArray(fc.stringMatching(/^[a-z0-9:.\/-]{1,12}$/), { minLength: 1, maxLength: 12 });
const keys = fc.uniqueArray(fc.string({ maxLength: 16 }), { minLength: 1, maxLength: 60 });

describe('balance: rendezvous hashing', () => {
  it('every member computes the same owner from the same view, whatever order it lists members in', () => {
    fc.assert(
      fc.property(memberIds, keys, fc.integer(), (members, keyList, seed) => {
        const shuffled = [...members].sort((a, b) => ((a.charCodeAt(0) * seed) % 7) - ((b.charCodeAt(0) * seed) % 7) || (a < b ? 1 : -1));
        for (const key of keyList) {
          const owner = rendezvousOwner(members, key);
          assert.ok(owner !== undefined && members.includes(owner));
          assert.equal(rendezvousOwner(shuffled, key), owner);
          assert.equal(rendezvousRank(shuffled, key)[0], owner);
        }
      }),
    );
  });

  it('a departure moves only the departed members’ keys; a join moves keys only to the joiner', () => {
    fc.assert(
      fc.property(memberIds, keys, fc.nat(), (members, keyList, pick) => {
        fc.pre(members.length >= 2);
        const departed = members[pick % members.length]!;
        const after = members.filter((member) => member !== departed);
        for (const key of keyList) {
          const before = rendezvousOwner(members, key)!;
          const now = rendezvousOwner(after, key)!;
          if (before !== departed) assert.equal(now, before, 'a key of a survivor moved');
          // The reverse view change is a join of `departed`: keys move only to it.
          if (before !== now) assert.equal(before, departed);
        }
      }),
    );
  });

  it('spreads keys fairly: each of 5 members owns 20% ± 3% of 20,000 keys, and a joiner takes about 1/6', () => {
    const members = ['a/1', 'b/1', 'c/1', 'd/1', 'e/1'];
    const counts = new Map<string, number>();
    let movedToJoiner = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = `key-${i}`;
      const owner = rendezvousOwner(members, key)!;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
      if (rendezvousOwner([...members, 'f/1'], key) === 'f/1') movedToJoiner++;
    }
    for (const member of members) assert.ok(Math.abs(counts.get(member)! / 20_000 - 0.2) < 0.03, `${member}: ${counts.get(member)}`);
    assert.ok(Math.abs(movedToJoiner / 20_000 - 1 / 6) < 0.03, `joiner took ${movedToJoiner}`);
  });

  it('rejects a key that is not a string', () => {
    assert.throws(() => rendezvousOwner(['a'], 5 as unknown as string), { code: 'INVALID_ARGUMENT' });
    assert.equal(rendezvousOwner([], 'k'), undefined);
  });
});
