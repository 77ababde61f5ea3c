import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Founding } from './found.js';

test('a peer votes for one candidate at a time, so two candidates never both hold a majority', () => {
  const [a, b, c] = [new Founding('a'), new Founding('b'), new Founding('c')];
  const attemptB = b.stand();
  const attemptC = c.stand();
  // a grants b first; c then learns that a supports b.
  assert.deepEqual(a.onRequest('b', attemptB), { granted: true, votedFor: 'b' });
  assert.deepEqual(a.onRequest('c', attemptC), { granted: false, votedFor: 'b' });
  assert.equal(b.onAnswer('a', attemptB, { granted: true, votedFor: 'b' }), false);
  assert.ok(b.hasMajority(2), 'b holds a and itself: two of three');
  assert.equal(c.onAnswer('a', attemptC, { granted: false, votedFor: 'b' }), true, 'c withdraws for the smaller b');
  assert.equal(a.mayStand, false, 'a voted for b and may not stand itself');
});

test('a candidate that learns of a smaller one withdraws, and its voters are free once released', () => {
  const [a, b, c] = [new Founding('a'), new Founding('b'), new Founding('c')];
  const attemptB = b.stand();
  assert.equal(c.onRequest('b', attemptB)?.granted, true);
  b.onAnswer('c', attemptB, { granted: true, votedFor: 'b' });
  const attemptA = a.stand();
  assert.deepEqual(b.onRequest('a', attemptA), { granted: true, votedFor: 'a' }, 'b withdraws and votes for a');
  assert.equal(b.standing, false);
  assert.deepEqual([...b.releasesOwed], [['c', attemptB]]);
  assert.equal(c.onRequest('a', attemptA)?.granted, false, 'c still holds its vote for b');
  c.onRelease('b', attemptB);
  assert.equal(c.onRequest('b', attemptB), undefined, 'a late request of the withdrawn attempt is ignored');
  assert.equal(c.onRequest('a', attemptA)?.granted, true);
});

test('a release of an older attempt does not free a vote for a newer one', () => {
  const [b, c] = [new Founding('b'), new Founding('c')];
  const first = b.stand();
  c.onRequest('b', first);
  b.withdraw();
  const second = b.stand();
  assert.equal(c.onRequest('b', second)?.granted, true);
  c.onRelease('b', first);
  assert.deepEqual(c.onRequest('d', 1), { granted: false, votedFor: 'b' });
});

test('a withdrawing candidate releases every peer it asked, also those whose grant it never heard (seed 600239)', () => {
  const [a, b, c, d] = [new Founding('a'), new Founding('b'), new Founding('c'), new Founding('d')];
  const attemptB = b.stand();
  assert.deepEqual(b.ungranted(['a', 'c', 'd']), ['a', 'c', 'd']);
  // c and d grant, but their answers are lost; b learns of the smaller a and withdraws.
  assert.equal(c.onRequest('b', attemptB)?.granted, true);
  assert.equal(d.onRequest('b', attemptB)?.granted, true);
  const attemptA = a.stand();
  assert.equal(b.onRequest('a', attemptA)?.granted, true);
  assert.deepEqual(new Set(b.releasesOwed.keys()), new Set(['a', 'c', 'd']));
  for (const voter of [c, d]) {
    assert.equal(voter.onRequest('a', attemptA)?.granted, false, 'still bound to b');
    voter.onRelease('b', b.releasesOwed.get(voter === c ? 'c' : 'd')!);
    assert.equal(voter.onRequest('a', attemptA)?.granted, true, 'free once released');
  }
});
