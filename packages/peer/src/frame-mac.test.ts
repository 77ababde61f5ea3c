import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createFrameMac as browserFrameMac } from './frame-mac.browser.js';
import { NODE_CRYPTO_FROM_BYTES, createFrameMac as nodeFrameMac } from './frame-mac.js';

describe('frame MAC, Node and browser variants', () => {
  it('both write the truncated HMAC-SHA-256 of node:crypto, below and above the size where Node switches', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 0, max: NODE_CRYPTO_FROM_BYTES * 3 }),
        fc.integer({ min: 1, max: 32 }),
        (key, size, length) => {
          const data = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
          const expected = createHmac('sha256', key).update(data).digest().subarray(0, length);
          for (const make of [nodeFrameMac, browserFrameMac]) {
            const out = new Uint8Array(length + 3).fill(0xaa);
            make(key)(data, out, 2, length);
            assert.deepEqual(out.subarray(2, 2 + length), new Uint8Array(expected));
            assert.equal(out[0], 0xaa);
            assert.equal(out[length + 2], 0xaa);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
