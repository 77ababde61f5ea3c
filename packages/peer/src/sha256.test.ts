import assert from 'node:assert/strict';
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HmacSha256, Sha256, constantTimeEqual, hkdfSha256, hmacSha256, sha256 } from './sha256.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const utf8 = (text: string) => new TextEncoder().encode(text);
const fill = (byte: number, length: number) => new Uint8Array(length).fill(byte);

describe('SHA-256', () => {
  it('matches the FIPS 180-4 examples', () => {
    assert.equal(hex(sha256(utf8(''))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(hex(sha256(utf8('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(
      hex(sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    assert.equal(hex(sha256(fill(0x61, 1_000_000))), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('agrees with node:crypto at every length around the padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      assert.equal(hex(sha256(bytes)), createHash('sha256').update(bytes).digest('hex'), `length ${length}`);
    }
  });

  it('agrees with node:crypto on random inputs fed in random pieces', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (pieces) => {
        const hash = new Sha256();
        const reference = createHash('sha256');
        for (const piece of pieces) {
          hash.update(piece);
          reference.update(piece);
        }
        assert.equal(hex(hash.digest()), reference.digest('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('continues from a copied state', () => {
    const prefix = new Sha256().update(utf8('synod '));
    const a = new Sha256().copyFrom(prefix).update(utf8('group'));
    const b = new Sha256().copyFrom(prefix).update(utf8('view'));
    assert.equal(hex(a.digest()), hex(sha256(utf8('synod group'))));
    assert.equal(hex(b.digest()), hex(sha256(utf8('synod view'))));
  });
});

describe('HMAC-SHA-256', () => {
  // RFC 4231 §4.2–4.8.
  const vectors: { key: Uint8Array; data: Uint8Array; mac: string }[] = [
    { key: fill(0x0b, 20), data: utf8('Hi There'), mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
    { key: utf8('Jefe'), data: utf8('what do ya want for nothing?'), mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
    { key: fill(0xaa, 20), data: fill(0xdd, 50), mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
    {
      key: Uint8Array.from({ length: 25 }, (_, i) => i + 1),
      data: fill(0xcd, 50),
      mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    },
    { key: fill(0x0c, 20), data: utf8('Test With Truncation'), mac: 'a3b6167473100ee06e0c796c2955552b' }, // truncated to 128 bits
    {
      key: fill(0xaa, 131),
      data: utf8('Test Using Larger Than Block-Size Key - Hash Key First'),
      mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    },
    {
      key: fill(0xaa, 131),
      data: utf8(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    },
  ];

  it('matches the RFC 4231 test vectors', () => {
    for (const [index, { key, data, mac }] of vectors.entries()) {
      const out = new Uint8Array(mac.length / 2);
      new HmacSha256(key).macInto([data], out, 0, out.length);
      assert.equal(hex(out), mac, `test case ${index + 1}`);
    }
  });

  it('agrees with node:crypto on random keys and messages, whole or in pieces, and a key reused', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), { minLength: 1, maxLength: 3 }),
        (key, messages) => {
          const hmac = new HmacSha256(key);
          for (const pieces of messages) {
            const reference = createHmac('sha256', key);
            for (const piece of pieces) reference.update(piece);
            const expected = reference.digest('hex');
            assert.equal(hex(hmac.mac(...pieces)), expected);
            assert.equal(hex(hmacSha256(key, ...pieces)), expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes a truncated MAC at an offset without touching the bytes around it', () => {
    const out = fill(0xee, 24);
    new HmacSha256(utf8('k')).macInto([utf8('m')], out, 4, 16);
    assert.equal(hex(out.subarray(4, 20)), createHmac('sha256', 'k').update('m').digest('hex').slice(0, 32));
    assert.deepEqual([...out.subarray(0, 4), ...out.subarray(20)], new Array(8).fill(0xee));
  });
});

describe('HKDF-SHA-256', () => {
  it('matches RFC 5869 test case 1 and node:crypto on random inputs', () => {
    const okm = hkdfSha256(fill(0x0b, 22), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    assert.equal(hex(okm), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.integer({ min: 1, max: 200 }),
        (ikm, salt, info, length) => {
          assert.equal(hex(hkdfSha256(ikm, salt, info, length)), Buffer.from(hkdfSync('sha256', ikm, salt, info, length)).toString('hex'));
        },
      ),
      { numRuns: 200 },
    );
    assert.throws(() => hkdfSha256(fill(1, 8), fill(0, 0), fill(0, 0), 255 * 32 + 1), RangeError);
  });
});

describe('constantTimeEqual', () => {
  it('is equality of bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        assert.equal(constantTimeEqual(a, b), Buffer.from(a).equals(Buffer.from(b)));
        assert.equal(constantTimeEqual(a, a.slice()), true);
      }),
    );
  });
});
