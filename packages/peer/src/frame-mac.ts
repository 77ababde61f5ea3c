import { createHmac, createSecretKey } from 'node:crypto';
import { HmacSha256 } from './sha256.js';

/** Writes the first `length` bytes of HMAC-SHA-256(key, data) into out[at, at + length). */
export type FrameMac = (data: Uint8Array, out: Uint8Array, at: number, length: number) => void;

/**
 * Frames from this size up are tagged by node:crypto: OpenSSL's SHA-256 (with the CPU's SHA
 * instructions) runs at about 1.3 GB/s here against the pure TypeScript's 170 MB/s, but an HMAC
 * object costs a few microseconds to make, so small frames stay in TypeScript (bench/auth.bench.ts).
 */
export const NODE_CRYPTO_FROM_BYTES = 512;

/** The tag function of a group's frame key. Node: the same HMAC, by whichever code is faster for the size. */
export function createFrameMac(key: Uint8Array): FrameMac {
  const hmac = new HmacSha256(key);
  const secret = createSecretKey(key);
  return (data, out, at, length) => {
    if (data.length < NODE_CRYPTO_FROM_BYTES) hmac.macInto([data], out, at, length);
    else out.set(createHmac('sha256', secret).update(data).digest().subarray(0, length), at);
  };
}
