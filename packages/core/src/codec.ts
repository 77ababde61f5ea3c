/** Bounds-checked binary reader/writer. Readers throw DecodeError on any malformed input. */

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

export class Writer {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialBytes = 64) {
    this.buffer = new Uint8Array(initialBytes);
  }

  private reserve(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
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

  /** The encoded bytes: a view of the writer's buffer, which the writer no longer touches. */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
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
    try {
      return textDecoder.decode(this.bytes(maxBytes));
    } catch (error) {
      if (error instanceof DecodeError) throw error;
      throw new DecodeError('invalid utf-8');
    }
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
