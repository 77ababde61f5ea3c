import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isQuorum } from './gms.js';

/** Every subset of `members`, as lists in view order. */
function subsets(members: readonly string[]): string[][] {
  return Array.from({ length: 1 << members.length }, (_, mask) => members.filter((_, index) => (mask >> index) & 1));
}

test('two disjoint sets are never both quorums, whoever was carried over', () => {
  for (let size = 1; size <= 6; size++) {
    const members = Array.from({ length: size }, (_, index) => `m${index}`);
    for (const carried of subsets(members)) {
      for (const a of subsets(members)) {
        if (!isQuorum(a, members, carried)) continue;
        const rest = members.filter((member) => !a.includes(member));
        assert.equal(isQuorum(rest, members, carried), false, `[${a}] and [${rest}] of [${members}], carried [${carried}]`);
      }
    }
  }
});

test('a tie goes to the members carried over, then to the oldest', () => {
  const members = ['a', 'b', 'c', 'joiner'];
  assert.ok(isQuorum(['b', 'c'], members, ['a', 'b', 'c']), 'two of three carried over, though the oldest is gone');
  assert.ok(!isQuorum(['a', 'joiner'], members, ['a', 'b', 'c']));
  assert.ok(isQuorum(['a', 'b'], ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']), 'half with the oldest');
  assert.ok(!isQuorum(['c', 'd'], ['a', 'b', 'c', 'd']));
  assert.ok(isQuorum(['a', 'b', 'c'], members, ['a', 'b', 'c']));
});
