/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104) in plain TypeScript.
 *
 * Why not a platform API: the frame path is synchronous and runs in browsers too, where Web Crypto
 * is asynchronous only; a promise per frame would reorder the runtime's input batches. Pure
 * functions over bytes, no I/O: it would be as much at home in the sans-I/O core.
 *
 * Written for the frame path: full blocks are compressed straight from the input (no copy), and
 * an HMAC key keeps its inner and outer states after the padded key block, so a MAC costs the
 * message's blocks plus two (RFC 2104's precomputation).
 */
export const SHA256_DIGEST_BYTES = 32;
export const SHA256_BLOCK_BYTES = 64;

// prettier-ignore
const K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);
// prettier-ignore
const INITIAL_STATE = Int32Array.of(
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
);

/** The message schedule; shared, since compress() never yields or re-enters. */
const W = new Int32Array(64);

/** Compresses the whole 64-byte blocks of bytes[offset, end) into state. */
function compress(state: Int32Array, bytes: Uint8Array, offset: number, end: number): void {
  let h0 = state[0]!, h1 = state[1]!, h2 = state[2]!, h3 = state[3]!;
  let h4 = state[4]!, h5 = state[5]!, h6 = state[6]!, h7 = state[7]!;
  for (; offset + SHA256_BLOCK_BYTES <= end; offset += SHA256_BLOCK_BYTES) {
    for (let i = 0, j = offset; i < 16; i++, j += 4) {
      W[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const w15 = W[i - 15]!;
      const w2 = W[i - 2]!;
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const choose = (e & f) ^ (~e & g);
      const t1 = (h + sigma1 + choose + K[i]! + W[i]!) | 0;
      const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const majority = (a & b) ^ (a & c) ^ (b & c);
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + sigma0 + majority) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  state[0] = h0;
  state[1] = h1;
  state[2] = h2;
  state[3] = h3;
  state[4] = h4;
  state[5] = h5;
  state[6] = h6;
  state[7] = h7;
}

/** An incremental SHA-256. */
export class Sha256 {
  private readonly state = INITIAL_STATE.slice();
  /** The bytes of an incomplete block. */
  private readonly pending = new Uint8Array(SHA256_BLOCK_BYTES);
  private pendingBytes = 0;
  private totalBytes = 0;

  /** Continue from another hash's state (an HMAC's keyed prefix). */
  copyFrom(other: Sha256): this {
    this.state.set(other.state);
    this.pending.set(other.pending);
    this.pendingBytes = other.pendingBytes;
    this.totalBytes = other.totalBytes;
    return this;
  }

  update(bytes: Uint8Array): this {
    let offset = 0;
    const length = bytes.length;
    this.totalBytes += length;
    if (this.pendingBytes > 0) {
      const taken = Math.min(length, SHA256_BLOCK_BYTES - this.pendingBytes);
      this.pending.set(bytes.subarray(0, taken), this.pendingBytes);
      this.pendingBytes += taken;
      offset = taken;
      if (this.pendingBytes < SHA256_BLOCK_BYTES) return this;
      compress(this.state, this.pending, 0, SHA256_BLOCK_BYTES);
      this.pendingBytes = 0;
    }
    const wholeEnd = offset + Math.floor((length - offset) / SHA256_BLOCK_BYTES) * SHA256_BLOCK_BYTES;
    compress(this.state, bytes, offset, wholeEnd);
    if (wholeEnd < length) {
      this.pending.set(bytes.subarray(wholeEnd), 0);
      this.pendingBytes = length - wholeEnd;
    }
    return this;
  }

  /** Writes the digest into out[at, at + 32). The hash is spent afterwards: copyFrom() or a new one. */
  digestInto(out: Uint8Array, at = 0): void {
    const bitsHigh = Math.floor(this.totalBytes / 0x20000000); // totalBytes * 8 / 2^32
    const bitsLow = (this.totalBytes * 8) >>> 0;
    const pending = this.pending;
    let used = this.pendingBytes;
    pending[used++] = 0x80;
    if (used > SHA256_BLOCK_BYTES - 8) {
      pending.fill(0, used);
      compress(this.state, pending, 0, SHA256_BLOCK_BYTES);
      used = 0;
    }
    pending.fill(0, used, SHA256_BLOCK_BYTES - 8);
    writeUint32(pending, SHA256_BLOCK_BYTES - 8, bitsHigh);
    writeUint32(pending, SHA256_BLOCK_BYTES - 4, bitsLow);
    compress(this.state, pending, 0, SHA256_BLOCK_BYTES);
    for (let i = 0; i < 8; i++) writeUint32(out, at + i * 4, this.state[i]!);
    this.pendingBytes = 0;
  }

  digest(): Uint8Array {
    const out = new Uint8Array(SHA256_DIGEST_BYTES);
    this.digestInto(out);
    return out;
  }
}

function writeUint32(into: Uint8Array, at: number, value: number): void {
  into[at] = value >>> 24;
  into[at + 1] = value >>> 16;
  into[at + 2] = value >>> 8;
  into[at + 3] = value;
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Sha256().update(bytes).digest();
}

/** An HMAC-SHA-256 key with its padded-key blocks already hashed (its scratch buffers make one MAC at a time, as synchronous code does). */
export class HmacSha256 {
  private readonly inner = new Sha256();
  private readonly outer = new Sha256();
  private readonly work = new Sha256();
  private readonly innerDigest = new Uint8Array(SHA256_DIGEST_BYTES);
  private readonly full = new Uint8Array(SHA256_DIGEST_BYTES);

  constructor(key: Uint8Array) {
    const block = new Uint8Array(SHA256_BLOCK_BYTES);
    block.set(key.length > SHA256_BLOCK_BYTES ? sha256(key) : key);
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) block[i] = block[i]! ^ 0x36;
    this.inner.update(block);
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) block[i] = block[i]! ^ 0x36 ^ 0x5c;
    this.outer.update(block);
    block.fill(0);
  }

  /**
   * Writes the first `length` bytes of HMAC(key, parts[0] ‖ parts[1] ‖ …) into out[at, at + length):
   * truncation as RFC 2104 §5 allows (the leftmost bytes).
   */
  macInto(parts: readonly Uint8Array[], out: Uint8Array, at = 0, length = SHA256_DIGEST_BYTES): void {
    const work = this.work.copyFrom(this.inner);
    for (const part of parts) work.update(part);
    work.digestInto(this.innerDigest);
    work.copyFrom(this.outer).update(this.innerDigest).digestInto(this.full);
    out.set(length === SHA256_DIGEST_BYTES ? this.full : this.full.subarray(0, length), at);
  }

  mac(...parts: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(SHA256_DIGEST_BYTES);
    this.macInto(parts, out);
    return out;
  }
}

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  return new HmacSha256(key).mac(...parts);
}

/** Equality of two byte strings in time that depends on their lengths only, not on where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** HKDF-SHA-256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes (at most 255 × 32). */
export function hkdfSha256(keyMaterial: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * SHA256_DIGEST_BYTES) {
    throw new RangeError(`HKDF-SHA-256 output length must be 0..${255 * SHA256_DIGEST_BYTES}`);
  }
  const pseudoRandomKey = new HmacSha256(salt).mac(keyMaterial);
  const expand = new HmacSha256(pseudoRandomKey);
  pseudoRandomKey.fill(0);
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let counter = 1, at = 0; at < length; counter++, at += SHA256_DIGEST_BYTES) {
    previous = expand.mac(previous, info, Uint8Array.of(counter));
    out.set(previous.subarray(0, Math.min(SHA256_DIGEST_BYTES, length - at)), at);
  }
  return out;
}
