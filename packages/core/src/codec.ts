/** Bounds-checked binary reader/writer. Readers throw DecodeError on any malformed input. */
import { allocFrameBytes, releaseFrameBytes, trimFrameBytes } from './frames.js';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });
const utf8Cache = new Map<string, Uint8Array>();

/** UTF-8 bytes of a string, cached for the short, repeated strings of headers (group names). */
export function encodeUtf8(value: string): Uint8Array {
  if (value.length > 64) return textEncoder.encode(value);
  let bytes = utf8Cache.get(value);
  if (!bytes) {
    if (utf8Cache.size > 4096) utf8Cache.clear();
    bytes = textEncoder.encode(value);
    utf8Cache.set(value, bytes);
  }
  return bytes;
}

const DECODED_SLOTS = 256;
const decodedBytes: (Uint8Array | undefined)[] = new Array(DECODED_SLOTS);
const decodedStrings: string[] = new Array(DECODED_SLOTS);

/**
 * The string of the UTF-8 bytes `bytes[start, end)`; throws DecodeError when they are not UTF-8.
 * Short strings (group names, member ids, kinds: the same few in every frame) come from a small
 * cache instead of a TextDecoder call; a miss, hostile or not, only costs the decode.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length > 64) return decodeFresh(bytes.subarray(start, end));
  let hash = length;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  const slot = (hash >>> 0) % DECODED_SLOTS;
  const cached = decodedBytes[slot];
  if (cached !== undefined && cached.length === length) {
    let i = 0;
    while (i < length && cached[i] === bytes[start + i]) i++;
    if (i === length) return decodedStrings[slot]!;
  }
  const value = decodeFresh(bytes.subarray(start, end));
  decodedBytes[slot] = bytes.slice(start, end);
  decodedStrings[slot] = value;
  return value;
}

function decodeFresh(bytes: Uint8Array): string {
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new DecodeError('invalid utf-8');
  }
}

/**
 * Fresh zeroed bytes carved from shared slabs, as Node's Buffer pool does: in V8 every ArrayBuffer
 * costs a calloc, page faults and collector bookkeeping. The bytes are a view at an 8-byte-aligned
 * offset; `.buffer` is the whole slab, so address them through byteOffset/byteLength. A slab lives
 * while any of its views does. Frames have a pool of their own (frames.ts).
 */
class SlabPool {
  private slab = new ArrayBuffer(0);
  private used = 0;

  constructor(
    private readonly slabBytes: number,
    /** Longer allocations get an ArrayBuffer of their own. */
    private readonly maxBytes: number,
  ) {}

  alloc(length: number): Uint8Array {
    if (length > this.maxBytes) return new Uint8Array(length);
    if (this.used + length > this.slab.byteLength) {
      this.slab = new ArrayBuffer(this.slabBytes);
      this.used = 0;
    }
    // The constructor, not subarray(): it skips the species lookup, a third of the cost.
    const bytes = new Uint8Array(this.slab, this.used, length);
    this.used = (this.used + length + 7) & ~7;
    return bytes;
  }

  /** Keeps the first `length` bytes of `bytes`: when it is the latest allocation, the rest goes back to the slab. */
  trim(bytes: Uint8Array, length: number): void {
    if (length !== bytes.length && bytes.buffer === this.slab && ((bytes.byteOffset + bytes.length + 7) & ~7) === this.used) {
      // Never written past `length` (a writer only writes what it reserved and used), so still zero.
      this.used = (bytes.byteOffset + length + 7) & ~7;
    }
  }
}

/**
 * What an app may get and keep (payloads, message copies): small slabs, so that a kept message
 * pins little memory besides its own.
 */
const appPool = new SlabPool(16 * 1024, 4 * 1024);

/** Fresh zeroed bytes that an app may keep (pooled when small). */
export function allocBytes(length: number): Uint8Array {
  return appPool.alloc(length);
}

/** The Uint8Array of exactly these bytes, copied into a fresh (pooled) allocation. */
export function copyBytes(source: Uint8Array): Uint8Array {
  const bytes = appPool.alloc(source.length);
  bytes.set(source);
  return bytes;
}

/** How many bytes Writer.varint writes for `value`. */
export function varintBytes(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

export class Writer {
  private buffer: Uint8Array;
  /** Where the next byte goes in `buffer` (the headroom comes first). */
  private length: number;

  /**
   * `initialBytes`: an estimate; the writer grows past it, and gives back what it did not use.
   * `frame`: it writes a frame, whose bytes come from the frame pool (allocFrameBytes) and carry
   * one reference, which the caller of finish() owns.
   * `headroomBytes`: left free before what it writes, in the same buffer, for a caller to prepend
   * its own header to the finished bytes without a copy.
   */
  constructor(
    initialBytes = 64,
    private readonly frame = false,
    private readonly headroomBytes = 0,
  ) {
    this.buffer = frame ? allocFrameBytes(headroomBytes + initialBytes) : appPool.alloc(headroomBytes + initialBytes);
    this.length = headroomBytes;
  }

  private reserve(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.buffer.length) return;
    let capacity = Math.max(64, this.buffer.length * 2);
    while (capacity < needed) capacity *= 2;
    const grown = this.frame ? allocFrameBytes(capacity) : appPool.alloc(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    if (this.frame) releaseFrameBytes(this.buffer);
    this.buffer = grown;
  }

  u8(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
    return this;
  }

  /** Unsigned LEB128 for integers in [0, 2^53). */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
    this.reserve(8);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.varint(value.length);
    this.raw(value);
    return this;
  }

  raw(value: Uint8Array): this {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  string(value: string): this {
    return this.bytes(encodeUtf8(value));
  }

  varints(values: readonly number[]): this {
    this.varint(values.length);
    for (const value of values) this.varint(value);
    return this;
  }

  strings(values: readonly string[]): this {
    this.varint(values.length);
    for (const value of values) this.string(value);
    return this;
  }

  /**
   * The encoded bytes: a view of the writer's buffer, which the writer no longer touches, with the
   * headroom (if any) right before it.
   */
  finish(): Uint8Array {
    if (this.frame) trimFrameBytes(this.buffer, this.length);
    else appPool.trim(this.buffer, this.length);
    if (this.headroomBytes === 0 && this.length === this.buffer.length) return this.buffer;
    return new Uint8Array(this.buffer.buffer, this.buffer.byteOffset + this.headroomBytes, this.length - this.headroomBytes);
  }
}

export class Reader {
  private offset = 0;

  constructor(private readonly buffer: Uint8Array) {}

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  u8(): number {
    if (this.offset >= this.buffer.length) throw new DecodeError('truncated');
    return this.buffer[this.offset++]!;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) throw new DecodeError('varint overflow');
        return value;
      }
      scale *= 0x80;
    }
    throw new DecodeError('varint too long');
  }

  /** A length-prefixed byte string, as a view into the frame (no copy). */
  bytes(maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.varint();
    if (length > maxBytes) throw new DecodeError('field too large');
    return this.raw(length);
  }

  /** Steps over a length-prefixed byte string, as bytes() without its view. */
  skip(maxBytes = Number.MAX_SAFE_INTEGER): void {
    const length = this.varint();
    if (length > maxBytes) throw new DecodeError('field too large');
    if (length > this.remaining) throw new DecodeError('truncated');
    this.offset += length;
  }

  raw(length: number): Uint8Array {
    if (length > this.remaining) throw new DecodeError('truncated');
    const view = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  rest(): Uint8Array {
    return this.raw(this.remaining);
  }

  string(maxBytes = 1024): string {
    const length = this.varint();
    if (length > maxBytes) throw new DecodeError('field too large');
    if (length > this.remaining) throw new DecodeError('truncated');
    const start = this.offset;
    this.offset += length;
    return decodeUtf8(this.buffer, start, this.offset);
  }

  /** A list whose declared length is checked against the bytes left (each element ≥ 1 byte). */
  count(maxCount: number): number {
    const length = this.varint();
    if (length > maxCount || length > this.remaining) throw new DecodeError('list too long');
    return length;
  }

  varints(maxCount: number): number[] {
    const length = this.count(maxCount);
    const values: number[] = [];
    for (let i = 0; i < length; i++) values.push(this.varint());
    return values;
  }

  strings(maxCount: number, maxBytes = 1024): string[] {
    const length = this.count(maxCount);
    const values: string[] = [];
    for (let i = 0; i < length; i++) values.push(this.string(maxBytes));
    return values;
  }

  end(): void {
    if (this.remaining !== 0) throw new DecodeError('trailing bytes');
  }
}
