import { InvariantViolation, SynodError, allocBytes, copyBytes, decodeUtf8, type MemberId } from '@synod/core';

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

/** UTF-8 of short strings sent again and again (kinds, member ids), cached. */
const shortStrings = new Map<string, Uint8Array>();
function shortUtf8(value: string): Uint8Array {
  let bytes = shortStrings.get(value);
  if (bytes === undefined) {
    bytes = encoder.encode(value);
    if (value.length > 64) return bytes;
    if (shortStrings.size >= 4096) shortStrings.clear();
    shortStrings.set(value, bytes);
  }
  return bytes;
}

function shortStringBytes(value: string, what: string): Uint8Array {
  const bytes = shortUtf8(value);
  if (bytes.length > 255) throw new SynodError('INVALID_ARGUMENT', `${what} is longer than 255 UTF-8 bytes`);
  return bytes;
}

function varuintBytes(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

/** Writes into a buffer sized beforehand: one allocation per payload. */
class Writer {
  readonly out: Uint8Array;
  private at = 0;
  constructor(length: number) {
    this.out = allocBytes(length);
  }
  byte(value: number): this {
    this.out[this.at++] = value;
    return this;
  }
  bytes(value: Uint8Array): this {
    this.out.set(value, this.at);
    this.at += value.length;
    return this;
  }
  /** LEB128 for any safe non-negative integer (arithmetic, not bitwise, past 2^31). */
  varuint(value: number): this {
    let rest = value;
    while (rest >= 0x80) {
      this.out[this.at++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.out[this.at++] = rest;
    return this;
  }
  shortString(bytes: Uint8Array): this {
    return this.byte(bytes.length).bytes(bytes);
  }
  finish(): Uint8Array {
    if (this.at !== this.out.length) throw new InvariantViolation(`payload sized ${this.out.length} bytes, wrote ${this.at}`);
    return this.out;
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
    const length = this.byte();
    if (this.at + length > this.bytes.length) throw new Malformed('truncated');
    this.at += length;
    return decodeUtf8(this.bytes, this.at - length, this.at);
  }
  end(): void {
    if (this.at !== this.bytes.length) throw new Malformed('trailing bytes');
  }
}

/**
 * App data ready to travel: its tag and the bytes that follow it. A Uint8Array's own bytes, not a
 * copy: the payload it goes into is encoded at once.
 */
export interface EncodedBody {
  readonly tag: number;
  readonly bytes: Uint8Array;
}

const NOTHING: EncodedBody = { tag: TAG_NONE, bytes: new Uint8Array(0) };

/** Encodes app data as a tagged body. Throws SynodError INVALID_ARGUMENT for what cannot travel. */
export function encodeBody(data: unknown): EncodedBody {
  if (data === undefined) return NOTHING;
  if (data instanceof Uint8Array) return { tag: TAG_BYTES, bytes: data };
  if (data instanceof ArrayBuffer) return { tag: TAG_BYTES, bytes: new Uint8Array(data) };
  if (ArrayBuffer.isView(data)) {
    throw new SynodError('INVALID_ARGUMENT', 'pass binary data as a Uint8Array (or an ArrayBuffer)');
  }
  if (typeof data === 'string') return { tag: TAG_STRING, bytes: encoder.encode(data) };
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw new SynodError('INVALID_ARGUMENT', 'data is not JSON-serialisable', { cause });
  }
  if (json === undefined) throw new SynodError('INVALID_ARGUMENT', `data of type ${typeof data} is not JSON-serialisable`);
  return { tag: TAG_JSON, bytes: encoder.encode(json) };
}

/** The body as the receiver gets it, decoded from a fresh copy (so nothing is shared with the sender's data). */
export function decodeEncodedBody(body: EncodedBody): Body {
  const bytes = new Writer(1 + body.bytes.length).byte(body.tag).bytes(body.bytes).finish();
  return decodeBody(new Reader(bytes));
}

/** `own`: the bytes become the app's own, a copy (the payload is a view into a frame the core keeps). */
function decodeBody(reader: Reader, own = false): Body {
  const tag = reader.byte();
  const travelled = reader.rest();
  const bytes = own ? copyBytes(travelled) : travelled;
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

/** The body with bytes of its own (a copy), for an app that may keep or modify them. */
export function ownCopy(body: Body): Body {
  const bytes = copyBytes(body.bytes);
  return { bytes, data: body.data === body.bytes ? bytes : body.data };
}

export function validateKind(kind: unknown): asserts kind is string {
  if (typeof kind !== 'string' || kind.length === 0) {
    throw new SynodError('INVALID_ARGUMENT', 'a message kind must be a non-empty string');
  }
  if (shortUtf8(kind).length > MAX_KIND_BYTES) {
    throw new SynodError('INVALID_ARGUMENT', `a message kind must be at most ${MAX_KIND_BYTES} UTF-8 bytes`);
  }
}

export function encodeMessage(kind: string, requestNo: number | undefined, body: EncodedBody): Uint8Array {
  const kindBytes = shortStringBytes(kind, 'kind');
  const length = 2 + (requestNo === undefined ? 0 : varuintBytes(requestNo)) + 1 + kindBytes.length + 1 + body.bytes.length;
  const writer = new Writer(length).byte(MESSAGE).byte(requestNo === undefined ? 0 : 1);
  if (requestNo !== undefined) writer.varuint(requestNo);
  return writer.shortString(kindBytes).byte(body.tag).bytes(body.bytes).finish();
}

export function encodeReply(requester: MemberId, requestNo: number, body: EncodedBody): Uint8Array {
  const requesterBytes = shortStringBytes(requester, 'member id');
  const length = 1 + 1 + requesterBytes.length + varuintBytes(requestNo) + 1 + body.bytes.length;
  return new Writer(length).byte(REPLY).shortString(requesterBytes).varuint(requestNo).byte(body.tag).bytes(body.bytes).finish();
}

export function encodeNoReply(requester: MemberId, requestNo: number, reason: NoReplyReason): Uint8Array {
  const requesterBytes = shortStringBytes(requester, 'member id');
  const length = 1 + 1 + requesterBytes.length + varuintBytes(requestNo) + 1;
  return new Writer(length).byte(NO_REPLY).shortString(requesterBytes).varuint(requestNo).byte(reason).finish();
}

/**
 * The decoded payload, or undefined when it is malformed. Never throws.
 * `own`: a message's body gets bytes of its own (a copy), for an app that may keep or modify them;
 * another member's payload is a view into a frame the core keeps for retransmission. A reply's body
 * is not copied here (most replies are for another member): ownCopy() it.
 */
export function decodePayload(bytes: Uint8Array, own = false): PeerPayload | undefined {
  try {
    const reader = new Reader(bytes);
    switch (reader.byte()) {
      case MESSAGE: {
        const flags = reader.byte();
        if (flags > 1) return undefined;
        const requestNo = flags & 1 ? reader.varuint() : undefined;
        const kind = reader.shortString();
        if (kind.length === 0) return undefined;
        return { type: 'message', kind, requestNo, body: decodeBody(reader, own) };
      }
      case REPLY: {
        const requester = reader.shortString();
        const requestNo = reader.varuint();
        return { type: 'reply', requester, requestNo, body: decodeBody(reader) }; // most are for others: ownCopy
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
