import { HmacSha256 } from './sha256.js';

/** Writes the first `length` bytes of HMAC-SHA-256(key, data) into out[at, at + length). */
export type FrameMac = (data: Uint8Array, out: Uint8Array, at: number, length: number) => void;

/**
 * The tag function of a group's frame key. Browsers: the pure-TypeScript HMAC (Web Crypto is
 * asynchronous only, and the frame path is synchronous).
 */
export function createFrameMac(key: Uint8Array): FrameMac {
  const hmac = new HmacSha256(key);
  return (data, out, at, length) => hmac.macInto([data], out, at, length);
}
