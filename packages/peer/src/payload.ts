import { SynodError, type MemberId } from '@synod/core';

/**
 * What the peer layer puts inside a core message. Bytes are first-class: a Uint8Array body travels
 * as is; strings travel as UTF-8 and JSON-able values as JSON, each tagged so the receiver gets
 * back the type that was sent.
 *
 *   message:   1 | flags:u8 (bit 0: wants replies) | [requestNo:varuint] | kindLength:u8 | kind | body
 *   reply:     2 | requesterLength:u8 | requester | requestNo:varuint | body
 *   no reply:  3 | requesterLength:u8 | requester | requestNo:varuint | reason:u8
 *   body:      tag:u8 (0 bytes, 1 string, 2 JSON, 3 nothing) | bytes…
 *
 * Replies ride on fbcast to the whole group and are filtered by the requester (the core has no
 * unicast yet).
 */
export type Data = Uint8Array | string | number | boolean | null | undefined | readonly unknown[] | { readonly [key: string]: unknown };

export const NoReplyReason = {
  /** The member has no handler for the kind. */
  NoHandler: 0,
  /** The handler finished (or threw) without replying. */
  Declined: 1,
} as const;
export type NoReplyReason = (typeof NoReplyReason)[keyof typeof NoReplyReason];

export type PeerPayload =
  | {
      readonly type: 'message';
      readonly kind: string;
      /** Present when the sender gathers replies. */
      readonly requestNo: number | undefined;
      readonly body: Body;
    }
  | { readonly type: 'reply'; readonly requester: MemberId; readonly requestNo: number; readonly body: Body }
  | { readonly type: 'noReply'; readonly requester: MemberId; readonly requestNo: number; readonly reason: NoReplyReason };

export interface Body {
  /** The body's bytes as they travelled (UTF-8 or JSON text for strings and values). */
  readonly bytes: Uint8Array;
  /** The value that was sent: a Uint8Array, a string, a JSON value, or undefined. */
  readonly data: unknown;
}

const MESSAGE = 1;
const REPLY = 2;
const NO_REPLY = 3;
const TAG_BYTES = 0;
const TAG_STRING = 1;
const TAG_JSON = 2;
const TAG_NONE = 3;
export const MAX_KIND_BYTES = 255;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

class Writer {
  private readonly parts: Uint8Array[] = [];
  private length = 0;
  byte(value: number): this {
    return this.bytes(Uint8Array.of(value));
  }
  bytes(value: Uint8Array): this {
    this.parts.push(value);
    this.length += value.length;
    return this;
  }
  /** LEB128 for any safe non-negative integer (arithmetic, not bitwise, past 2^31). */
  varuint(value: number): this {
    const out: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      out.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    out.push(rest);
    return this.bytes(Uint8Array.from(out));
  }
  shortString(value: string, what: string): this {
    const bytes = encoder.encode(value);
    if (bytes.length > 255) throw new SynodError('INVALID_ARGUMENT', `${what} is longer than 255 UTF-8 bytes`);
    return this.byte(bytes.length).bytes(bytes);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

class Malformed extends Error {}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  byte(): number {
    if (this.at >= this.bytes.length) throw new Malformed('truncated');
    return this.bytes[this.at++]!;
  }
  take(length: number): Uint8Array {
    if (this.at + length > this.bytes.length) throw new Malformed('truncated');
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }
  rest(): Uint8Array {
    return this.take(this.bytes.length - this.at);
  }
  varuint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new Malformed('varuint too large');
        return value;
      }
      scale *= 0x80;
    }
    throw new Malformed('varuint too long');
  }
  shortString(): string {
    return decoder.decode(this.take(this.byte()));
  }
  end(): void {
    if (this.at !== this.bytes.length) throw new Malformed('trailing bytes');
  }
}

/** Encodes app data as a tagged body. Throws SynodError INVALID_ARGUMENT for what cannot travel. */
export function encodeBody(data: unknown): Uint8Array {
  if (data === undefined) return Uint8Array.of(TAG_NONE);
  if (data instanceof Uint8Array) return new Writer().byte(TAG_BYTES).bytes(data).finish();
  if (data instanceof ArrayBuffer) return new Writer().byte(TAG_BYTES).bytes(new Uint8Array(data)).finish();
  if (ArrayBuffer.isView(data)) {
    throw new SynodError('INVALID_ARGUMENT', 'pass binary data as a Uint8Array (or an ArrayBuffer)');
  }
  if (typeof data === 'string') return new Writer().byte(TAG_STRING).bytes(encoder.encode(data)).finish();
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw new SynodError('INVALID_ARGUMENT', 'data is not JSON-serialisable', { cause });
  }
  if (json === undefined) throw new SynodError('INVALID_ARGUMENT', `data of type ${typeof data} is not JSON-serialisable`);
  return new Writer().byte(TAG_JSON).bytes(encoder.encode(json)).finish();
}

function decodeBody(reader: Reader): Body {
  const tag = reader.byte();
  const bytes = reader.rest();
  switch (tag) {
    case TAG_BYTES:
      return { bytes, data: bytes };
    case TAG_STRING: {
      const text = decoder.decode(bytes);
      return { bytes, data: text };
    }
    case TAG_JSON: {
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(bytes));
      } catch {
        throw new Malformed('bad JSON');
      }
      return { bytes, data: value };
    }
    case TAG_NONE:
      if (bytes.length !== 0) throw new Malformed('bytes after an empty body');
      return { bytes, data: undefined };
    default:
      throw new Malformed(`unknown body tag ${tag}`);
  }
}

export function validateKind(kind: unknown): asserts kind is string {
  if (typeof kind !== 'string' || kind.length === 0) {
    throw new SynodError('INVALID_ARGUMENT', 'a message kind must be a non-empty string');
  }
  if (encoder.encode(kind).length > MAX_KIND_BYTES) {
    throw new SynodError('INVALID_ARGUMENT', `a message kind must be at most ${MAX_KIND_BYTES} UTF-8 bytes`);
  }
}

export function encodeMessage(kind: string, requestNo: number | undefined, body: Uint8Array): Uint8Array {
  const writer = new Writer().byte(MESSAGE).byte(requestNo === undefined ? 0 : 1);
  if (requestNo !== undefined) writer.varuint(requestNo);
  return writer.shortString(kind, 'kind').bytes(body).finish();
}

export function encodeReply(requester: MemberId, requestNo: number, body: Uint8Array): Uint8Array {
  return new Writer().byte(REPLY).shortString(requester, 'member id').varuint(requestNo).bytes(body).finish();
}

export function encodeNoReply(requester: MemberId, requestNo: number, reason: NoReplyReason): Uint8Array {
  return new Writer().byte(NO_REPLY).shortString(requester, 'member id').varuint(requestNo).byte(reason).finish();
}

/** The decoded payload, or undefined when it is malformed. Never throws. */
export function decodePayload(bytes: Uint8Array): PeerPayload | undefined {
  try {
    const reader = new Reader(bytes);
    switch (reader.byte()) {
      case MESSAGE: {
        const flags = reader.byte();
        if (flags > 1) return undefined;
        const requestNo = flags & 1 ? reader.varuint() : undefined;
        const kind = reader.shortString();
        if (kind.length === 0) return undefined;
        return { type: 'message', kind, requestNo, body: decodeBody(reader) };
      }
      case REPLY: {
        const requester = reader.shortString();
        const requestNo = reader.varuint();
        return { type: 'reply', requester, requestNo, body: decodeBody(reader) };
      }
      case NO_REPLY: {
        const requester = reader.shortString();
        const requestNo = reader.varuint();
        const reason = reader.byte();
        if (reason !== NoReplyReason.NoHandler && reason !== NoReplyReason.Declined) return undefined;
        reader.end();
        return { type: 'noReply', requester, requestNo, reason };
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** Decodes a body encoded by encodeBody (used for local short-circuited replies). */
export function decodeBodyBytes(bytes: Uint8Array): Body | undefined {
  try {
    return decodeBody(new Reader(bytes));
  } catch {
    return undefined;
  }
}
