/**
 * pack: several small messages of one sender, of one order, in one unit (JGroups' bundler, Spread's
 * message packing). A sender packs what its send queue holds when it pumps (never waiting for more),
 * so packing costs no latency; each unit's costs (its frame, the transport's send and receive, the
 * stream's bookkeeping, the sequencer's order entry, stability) are then shared by its messages.
 *
 * A packed unit is one whole fragment: `count`, then each message as `length` and its bytes (varints).
 * The messages keep their place: delivered one after the other, where the unit is delivered, so
 * every order holds for them as for any run of one sender's messages.
 */
import { Reader, Writer, varintBytes } from './codec.js';

/** At most this many messages in one unit. */
export const MAX_PACKED_MESSAGES = 256;
/** Messages longer than this go on their own. */
export const MAX_PACKED_MESSAGE_BYTES = 4096;

/** The bytes `payload` adds to a pack. */
export function packedSize(payload: Uint8Array): number {
  return varintBytes(payload.length) + payload.length;
}

/** The pack's length: `partsBytes` is the sum of packedSize() over its messages. */
export function packBytes(count: number, partsBytes: number): number {
  return varintBytes(count) + partsBytes;
}

export function packInto(writer: Writer, payloads: readonly Uint8Array[]): void {
  writer.varint(payloads.length);
  for (const payload of payloads) writer.bytes(payload);
}

export function pack(payloads: readonly Uint8Array[], partsBytes: number): Uint8Array {
  const writer = new Writer(packBytes(payloads.length, partsBytes));
  packInto(writer, payloads);
  return writer.finish();
}

/**
 * How many messages a packed unit holds, checked whole without a view of each; undefined if it is
 * not one (fewer than two messages, more than MAX_PACKED_MESSAGES, a message longer than
 * MAX_PACKED_MESSAGE_BYTES or past the end, or bytes left over).
 */
export function packedCount(bytes: Uint8Array): number | undefined {
  try {
    const reader = new Reader(bytes);
    const count = reader.count(MAX_PACKED_MESSAGES);
    if (count < 2) return undefined;
    for (let i = 0; i < count; i++) reader.skip(MAX_PACKED_MESSAGE_BYTES);
    reader.end();
    return count;
  } catch {
    return undefined;
  }
}

/** Each message of a pack that packedCount() accepted, as a view into it, with its place. */
export function forEachPacked(bytes: Uint8Array, each: (payload: Uint8Array, index: number) => void): void {
  const reader = new Reader(bytes);
  const count = reader.count(MAX_PACKED_MESSAGES);
  for (let i = 0; i < count; i++) each(reader.bytes(MAX_PACKED_MESSAGE_BYTES), i);
}
