import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppState } from './app-state.js';
import { decodePayload, encodePayload } from './payload.js';

describe('payload', () => {
  it('round-trips its identity at every size', () => {
    for (const sizeBytes of [0, 10, 27, 28, 29, 30, 31, 100, 16 * 1024 + 1, 48 * 1024]) {
      const bytes = encodePayload({ origin: 'n3.2', appSeq: 77, order: 'causal', sizeBytes });
      assert.equal(bytes.length, Math.max(sizeBytes, bytes.length));
      const decoded = decodePayload(bytes);
      assert.ok(decoded.ok, !decoded.ok ? decoded.error : '');
      assert.equal(decoded.origin, 'n3.2');
      assert.equal(decoded.appSeq, 77);
      assert.equal(decoded.order, 'causal');
    }
  });

  it('detects a flipped byte anywhere, truncation, and a spliced body', () => {
    const bytes = encodePayload({ origin: 'n1', appSeq: 5, order: 'safe', sizeBytes: 2000 });
    for (const index of [0, 4, 6, 9, 14, 20, 500, 1999]) {
      const corrupt = bytes.slice();
      corrupt[index] = (corrupt[index] as number) ^ 0x10;
      assert.equal(decodePayload(corrupt).ok, false, `flip at ${index}`);
    }
    assert.equal(decodePayload(bytes.subarray(0, 1500)).ok, false);
    const other = encodePayload({ origin: 'n1', appSeq: 6, order: 'safe', sizeBytes: 2000 });
    const spliced = bytes.slice();
    spliced.set(other.subarray(100), 100);
    assert.equal(decodePayload(spliced).ok, false);
  });

  it('decodes from a subarray at any offset', () => {
    const bytes = encodePayload({ origin: 'n2', appSeq: 1, order: 'fifo', sizeBytes: 64 });
    const framed = new Uint8Array(bytes.length + 3);
    framed.set(bytes, 3);
    assert.ok(decodePayload(framed.subarray(3)).ok);
  });
});

describe('AppState', () => {
  it('digests a set of ids independently of delivery order', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `n${i % 3}:1:${i}`);
    const forward = new AppState();
    const backward = new AppState();
    ids.forEach((id) => forward.apply(id));
    [...ids].reverse().forEach((id) => backward.apply(id));
    assert.equal(forward.digest(), backward.digest());
    const missing = new AppState();
    ids.slice(1).forEach((id) => missing.apply(id));
    missing.apply('n9:9:9');
    assert.notEqual(missing.digest(), forward.digest());
  });

  it('round-trips through a snapshot, with padding, and detects corruption', () => {
    const state = new AppState();
    ['a:1:1', 'b:1:1', 'a:2:1'].forEach((id) => state.apply(id));
    for (const padding of [0, 1, 40_000]) {
      const bytes = state.encode(padding);
      const decoded = AppState.decode(bytes);
      assert.ok('state' in decoded);
      assert.equal(decoded.state.digest(), state.digest());
      const corrupt = bytes.slice();
      corrupt[bytes.length >> 1] = (corrupt[bytes.length >> 1] as number) ^ 1;
      assert.ok('error' in AppState.decode(corrupt));
      assert.ok('error' in AppState.decode(bytes.subarray(0, bytes.length - 1)));
    }
  });
});
