import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PageLockTable } from './page-locks.js';

describe('the page-lock table', () => {
  it('grants ranges in request order, readers together, a waiting writer blocking later readers', () => {
    const table = new PageLockTable(4);
    assert.equal(table.acquire('a', 1, 0, 1, 'write')!.length, 1);
    assert.deepEqual(table.acquire('b', 1, 1, 2, 'read'), [], 'overlaps a');
    assert.deepEqual(table.acquire('c', 1, 3, 3, 'write')!.map((g) => g.member), ['c'], 'disjoint: granted at once');
    assert.deepEqual(table.acquire('d', 1, 2, 2, 'read')!.map((g) => g.member), ['d'], 'a reader queued behind a waiting reader');
    assert.deepEqual(table.acquire('e', 1, 2, 2, 'write'), [], 'a writer waits for the reader');
    assert.deepEqual(table.acquire('f', 1, 2, 2, 'read'), [], 'and blocks later readers');
    assert.equal(table.acquire('a', 1, 0, 0, 'write'), undefined, 'a duplicate');
    const granted = table.release('a', 1, [[0, 3], [1, 2]])!;
    assert.deepEqual(granted.map((g) => g.member), ['b']);
    assert.deepEqual(table.agreed, [3, 2, 0, 0]);
    assert.deepEqual(table.release('d', 1, [])!, [], 'e still waits for b');
    assert.deepEqual(table.release('b', 1, [])!.map((g) => g.member), ['e']);
    assert.ok(granted[0]!.fencingToken > 2);
  });

  it('ranges cannot deadlock: a request waits only for those ordered before it', () => {
    const table = new PageLockTable(3);
    table.acquire('a', 1, 0, 0, 'write');
    table.acquire('b', 1, 1, 1, 'write');
    table.acquire('a', 2, 1, 2, 'write'); // waits for b
    table.acquire('b', 2, 0, 1, 'write'); // waits for a#1 and a#2
    assert.deepEqual(table.release('b', 1, [])!.map((g) => `${g.member}#${g.request}`), ['a#2']);
    assert.deepEqual(table.release('a', 1, [])!, []);
    assert.deepEqual(table.release('a', 2, [])!.map((g) => `${g.member}#${g.request}`), ['b#2']);
  });

  it('drops departed members and restores only well-formed snapshots', () => {
    const table = new PageLockTable(2);
    table.acquire('a', 1, 0, 1, 'write');
    table.acquire('b', 1, 0, 0, 'read');
    const { granted, removed } = table.retain(new Set(['b']));
    assert.deepEqual(granted.map((g) => g.member), ['b']);
    assert.deepEqual(removed.map((r) => r.member), ['a']);
    const copy = new PageLockTable(2);
    assert.ok(copy.restore(JSON.parse(JSON.stringify(table.snapshot()))));
    assert.equal(copy.holders(0).length, 1);
    assert.equal(new PageLockTable(3).restore(table.snapshot()), false);
    assert.equal(copy.restore({ agreed: [0, 0], lastFencingToken: 1, requests: [{ member: 'x', request: 1, first: 1, last: 0, mode: 'write', fencingToken: 0 }] }), false);
  });
});
