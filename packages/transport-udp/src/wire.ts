/**
 * Every datagram starts with a 10-byte transport header:
 *
 *   magic:u8 = 0x55 ('U') | version:u4 = 1, kind:u4 | senderNonce:u32 | destinationNonce:u32 | payload…
 *
 * The sender's nonce names its incarnation (its address is the datagram's source plus the nonce).
 * The destination nonce is the incarnation the datagram is meant for, or 0 for "whoever listens on
 * that port" (a static list names no incarnation). Kinds:
 *
 *   DATA   a frame for the core, handed to onMessage handlers
 *   HELLO  "I am here": sent at start, and as a keepalive to a peer nothing else went to lately;
 *          always answered by HELLO_REPLY (never answered itself), so a mesh forms in one round trip
 *   BYE    the sender closes: its peers report linkDown at once
 *   PROBE  sent from a throwaway connected socket to a silent peer's port, only to draw an ICMP
 *          port-unreachable if nobody listens there any more (receivers ignore it)
 *   BATCH  several DATA frames for one peer in one datagram (the sender bundles what it sends to a
 *          peer in one turn of the event loop): ( length:u16 | frame )…
 */
export const HEADER_BYTES = 10;
const MAGIC = 0x55;
const VERSION = 1;

export const Kind = { Data: 1, Hello: 2, HelloReply: 3, Bye: 4, Probe: 5, Batch: 6 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export interface Header {
  readonly kind: Kind;
  readonly senderNonce: number;
  readonly destinationNonce: number;
}

export function writeHeader(into: Uint8Array, kind: Kind, senderNonce: number, destinationNonce: number): void {
  into[0] = MAGIC;
  into[1] = (VERSION << 4) | kind;
  const view = new DataView(into.buffer, into.byteOffset, HEADER_BYTES);
  view.setUint32(2, senderNonce);
  view.setUint32(6, destinationNonce);
}

export function controlDatagram(kind: Kind, senderNonce: number, destinationNonce: number): Uint8Array {
  const datagram = new Uint8Array(HEADER_BYTES);
  writeHeader(datagram, kind, senderNonce, destinationNonce);
  return datagram;
}

/** The header of a datagram, or undefined when it is not one of ours. Never throws. */
export function readHeader(datagram: Uint8Array): Header | undefined {
  if (datagram.length < HEADER_BYTES || datagram[0] !== MAGIC || datagram[1]! >> 4 !== VERSION) return undefined;
  const kind = (datagram[1]! & 0x0f) as Kind;
  if (kind < Kind.Data || kind > Kind.Batch) return undefined;
  const view = new DataView(datagram.buffer, datagram.byteOffset, HEADER_BYTES);
  const senderNonce = view.getUint32(2);
  if (senderNonce === 0) return undefined;
  if (kind !== Kind.Data && kind !== Kind.Batch && datagram.length !== HEADER_BYTES) return undefined;
  return { kind, senderNonce, destinationNonce: view.getUint32(6) };
}

/** Bytes a frame takes in a BATCH. */
export const BATCH_PREFIX_BYTES = 2;

/** The frames of a BATCH datagram as views into it, or undefined when it is malformed. Never throws. */
export function readBatch(datagram: Uint8Array): Uint8Array[] | undefined {
  const frames: Uint8Array[] = [];
  let at = HEADER_BYTES;
  while (at < datagram.length) {
    if (at + BATCH_PREFIX_BYTES > datagram.length) return undefined;
    const length = (datagram[at]! << 8) | datagram[at + 1]!;
    at += BATCH_PREFIX_BYTES;
    if (at + length > datagram.length) return undefined;
    frames.push(new Uint8Array(datagram.buffer, datagram.byteOffset + at, length));
    at += length;
  }
  return frames.length > 0 ? frames : undefined;
}
