/**
 * The binary forms of replicated data: update batches on the wire and snapshots for state
 * transfer, storage and checkpoints. Values are JSON-able or Uint8Array; a JSON value travels as
 * its text, bytes as themselves. Decoders return undefined on anything malformed (network input is
 * dropped and counted, never thrown).
 */
import { SynodError } from '@synod/core';

/** What a replica holds: a JSON-able value or bytes. */
export type ReplicaValue = null | boolean | number | string | Uint8Array | readonly ReplicaValue[] | { readonly [key: string]: ReplicaValue };

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

const VALUE_JSON = 0;
const VALUE_BYTES = 1;

/** A growable buffer of big-endian fields. */
export class Writer {
  private buffer: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initialBytes = 256) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
  }

  f64(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, value);
    this.length += 8;
  }

  bytes(value: Uint8Array): void {
    this.u32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  string(value: string): void {
    // At most 3 bytes per UTF-16 unit: encode in place, then write the length in front.
    this.reserve(4 + value.length * 3);
    const { written } = encoder.encodeInto(value, this.buffer.subarray(this.length + 4));
    this.view.setUint32(this.length, written);
    this.length += 4 + written;
  }

  value(value: ReplicaValue): void {
    if (value instanceof Uint8Array) {
      this.u8(VALUE_BYTES);
      this.bytes(value);
      return;
    }
    this.u8(VALUE_JSON);
    this.string(toJson(value));
  }

  /** Rolls back to an earlier length (a value that failed to encode leaves nothing behind). */
  truncate(length: number): void {
    this.length = length;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** JSON text of an app value; misuse (undefined, functions, cycles, BigInt) throws INVALID_ARGUMENT. */
export function toJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new SynodError('INVALID_ARGUMENT', `a replicated value must be JSON-able or a Uint8Array: ${String(error)}`, { cause: error });
  }
  if (text === undefined) throw new SynodError('INVALID_ARGUMENT', `a replicated value must be JSON-able or a Uint8Array, not ${typeof value}`);
  return text;
}

/** Reads what Writer wrote; every read returns undefined past the end or on bad content. */
export class Reader {
  private readonly view: DataView;
  at = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.at === this.bytes.length;
  }

  u8(): number | undefined {
    if (this.at + 1 > this.bytes.length) return undefined;
    return this.bytes[this.at++];
  }

  u32(): number | undefined {
    if (this.at + 4 > this.bytes.length) return undefined;
    const value = this.view.getUint32(this.at);
    this.at += 4;
    return value;
  }

  f64(): number | undefined {
    if (this.at + 8 > this.bytes.length) return undefined;
    const value = this.view.getFloat64(this.at);
    this.at += 8;
    return value;
  }

  raw(): Uint8Array | undefined {
    const length = this.u32();
    if (length === undefined || this.at + length > this.bytes.length) return undefined;
    const value = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  string(): string | undefined {
    const raw = this.raw();
    if (raw === undefined) return undefined;
    try {
      return strictDecoder.decode(raw);
    } catch {
      return undefined;
    }
  }

  /** A fresh value (never shared with another decode): JSON parsed, bytes copied. */
  value(): { value: ReplicaValue } | undefined {
    const tag = this.u8();
    if (tag === VALUE_BYTES) {
      const raw = this.raw();
      return raw === undefined ? undefined : { value: raw.slice() };
    }
    if (tag !== VALUE_JSON) return undefined;
    const text = this.string();
    if (text === undefined) return undefined;
    try {
      return { value: JSON.parse(text) as ReplicaValue };
    } catch {
      return undefined;
    }
  }
}

/** FNV-1a over a string, chained from `seed`: the digest of an applied-update sequence. */
export function chainDigest(seed: number, text: string): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export const DIGEST_SEED = 0x811c9dc5;
