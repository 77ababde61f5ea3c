import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRuns, decodeDiffs, diffPage, encodeDiffs } from './diff.js';

describe('twin/diff', () => {
  it('finds the changed runs, merges near ones, and applying them rebuilds the page', () => {
    const twin = new Uint8Array(256);
    const page = twin.slice();
    page[3] = 1;
    page[9] = 2; // within 8 bytes of 3: one run
    page[100] = 3;
    page.fill(9, 200, 256);
    const runs = diffPage(twin, page);
    assert.deepEqual(runs.map((run) => [run.offset, run.bytes.length]), [[3, 7], [100, 1], [200, 56]]);
    const copy = twin.slice();
    applyRuns(copy, runs);
    assert.deepEqual(copy, page);
    assert.deepEqual(diffPage(page, page.slice()), []);
  });

  it('round-trips the wire format and rejects what lies outside the region', () => {
    const diffs = { request: 7, pages: [{ page: 2, version: 5, runs: [{ offset: 10, bytes: new Uint8Array([1, 2, 3]) }] }] };
    const bytes = encodeDiffs(diffs);
    assert.deepEqual(decodeDiffs(bytes, 4, 64), diffs);
    assert.equal(decodeDiffs(bytes, 2, 64), undefined, 'page 2 of a 2-page region');
    assert.equal(decodeDiffs(bytes, 4, 12), undefined, 'a run past the page end');
    for (let cut = 0; cut < bytes.length; cut++) assert.equal(decodeDiffs(bytes.subarray(0, cut), 4, 64), undefined);
    assert.equal(decodeDiffs(new Uint8Array([...bytes, 0]), 4, 64), undefined, 'trailing bytes');
  });
});
