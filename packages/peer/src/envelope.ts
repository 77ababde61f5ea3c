import { InvariantViolation, allocFrameBytes, decodeUtf8, releaseFrameBytes, type MemberId } from '@synod/core';
import { TAG_BYTES, type FrameAuthenticator } from './auth.js';
import type { PeerAddress } from './transport.js';

/**
 * The envelope lets one transport link serve many groups: it names the group and the sending
 * member ahead of the core's bytes.
 *
 *   version:u8 | groupLength:u8 | group:utf8 | senderLength:u8 | sender:utf8 | core bytes… | tag?
 *
 * Version 1 is a plain frame; version 2 is the frame of a keyed group, ending with a TAG_BYTES tag
 * over everything before it (auth.ts); version 3 is a keyed group's own control frame (liveness
 * challenges, freshness.ts), tagged the same way, for the runtime rather than the core. A keyed
 * group accepts only versions 2 and 3 with a valid tag, an unkeyed group only version 1, so keyed
 * and unkeyed peers never form one group.
 *
 * There is no destination: a frame goes to the receiving peer's current member of the group, and
 * the core drops what is not meant for that incarnation.
 */
export const ENVELOPE_VERSION = 1;
/** The version of the frames of a keyed group: a tag trails the core bytes. */
export const ENVELOPE_VERSION_AUTHENTICATED = 2;
/** A keyed group's control frame: a tag trails bytes for the runtime, not the core. */
export const ENVELOPE_VERSION_CONTROL = 3;
export type EnvelopeVersion = typeof ENVELOPE_VERSION | typeof ENVELOPE_VERSION_AUTHENTICATED | typeof ENVELOPE_VERSION_CONTROL;
/** Longest group name or member id, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

export interface Envelope {
  readonly group: string;
  readonly sender: MemberId;
  /** A view into the frame, not a copy; without the tag. */
  readonly payload: Uint8Array;
  /** Versions 2 and 3: the frame ends with a tag, not yet verified (the group holds the key). */
  readonly authenticated: boolean;
  /** Version 3: the payload is a control frame for the runtime. */
  readonly control: boolean;
}

/** The header of every frame a member sends; computed once per member. */
export function envelopeHeader(group: string, sender: MemberId, version: EnvelopeVersion = ENVELOPE_VERSION): Uint8Array {
  const groupBytes = encoder.encode(group);
  const senderBytes = encoder.encode(sender);
  if (groupBytes.length === 0 || groupBytes.length > MAX_NAME_BYTES) {
    throw new RangeError(`group name must be 1..${MAX_NAME_BYTES} UTF-8 bytes`);
  }
  if (senderBytes.length === 0 || senderBytes.length > MAX_NAME_BYTES) {
    throw new RangeError(`member id must be 1..${MAX_NAME_BYTES} UTF-8 bytes`);
  }
  const header = new Uint8Array(3 + groupBytes.length + senderBytes.length);
  header[0] = version;
  header[1] = groupBytes.length;
  header.set(groupBytes, 2);
  header[2 + groupBytes.length] = senderBytes.length;
  header.set(senderBytes, 3 + groupBytes.length);
  return header;
}

/**
 * A frame; with an authenticator (and a version 2 or 3 header), signed. `headroomBytes`: how many
 * bytes before `payload` in its buffer are free (Send.headroomBytes); when the header fits there
 * (and there is no tag to append) the frame is made in place.
 */
export function encodeFrame(header: Uint8Array, payload: Uint8Array, authenticator?: FrameAuthenticator, headroomBytes = 0): Uint8Array {
  if ((header[0] !== ENVELOPE_VERSION) !== (authenticator !== undefined)) {
    throw new InvariantViolation('a version 2 or 3 header goes with an authenticator, a version 1 header without');
  }
  if (!authenticator && headroomBytes >= header.length) {
    // The core left room for the header before its frame: written there, no copy. Every send of
    // this frame writes the same header, so a transport still holding an earlier one sees no change.
    const frame = new Uint8Array(payload.buffer, payload.byteOffset - header.length, header.length + payload.length);
    frame.set(header, 0);
    return frame;
  }
  const frame = allocFrameBytes(header.length + payload.length + (authenticator ? TAG_BYTES : 0));
  frame.set(header, 0);
  frame.set(payload, header.length);
  authenticator?.sign(frame);
  return frame;
}

/**
 * Gives back the frame encodeFrame() made for `payload` once a transport has it (transports copy
 * or are done when send() returns), so that its slab can be used again (core frames.ts). A frame
 * made in place is the core's, which gives it back itself: nothing happens to it here.
 */
export function releaseEncodedFrame(frame: Uint8Array, payload: Uint8Array): void {
  // A copy never sits right before the payload it copied: that slab is still held by the core.
  if (frame.buffer === payload.buffer && frame.byteOffset + frame.length === payload.byteOffset + payload.length) return;
  releaseFrameBytes(frame);
}

/** The envelope of a frame, or undefined when it is malformed. Never throws. */
export function decodeFrame(frame: Uint8Array): Envelope | undefined {
  const version = frame[0];
  if (frame.length < 3 || version === undefined || version < ENVELOPE_VERSION || version > ENVELOPE_VERSION_CONTROL) return undefined;
  const authenticated = version !== ENVELOPE_VERSION;
  const payloadEnd = authenticated ? frame.length - TAG_BYTES : frame.length;
  const groupLength = frame[1]!;
  const senderAt = 2 + groupLength;
  if (groupLength === 0 || frame.length < senderAt + 1) return undefined;
  const senderLength = frame[senderAt]!;
  const payloadAt = senderAt + 1 + senderLength;
  if (senderLength === 0 || payloadEnd < payloadAt) return undefined;
  let group: string;
  let sender: string;
  try {
    group = decodeUtf8(frame, 2, senderAt);
    sender = decodeUtf8(frame, senderAt + 1, payloadAt);
  } catch {
    return undefined;
  }
  if (addressOf(sender) === undefined) return undefined;
  return { group, sender, payload: frame.subarray(payloadAt, payloadEnd), authenticated, control: version === ENVELOPE_VERSION_CONTROL };
}

/** A member id is `${peerAddress}/${incarnation}`; the address is everything before the last '/'. */
export function memberIdOf(address: PeerAddress, incarnation: number): MemberId {
  return `${address}/${incarnation}`;
}

export function addressOf(member: MemberId): PeerAddress | undefined {
  // Asked for every frame sent and received, of the same few member ids: cached.
  const cached = addresses.get(member);
  if (cached !== undefined || addresses.has(member)) return cached;
  const slash = member.lastIndexOf('/');
  const address = slash <= 0 || slash === member.length - 1 ? undefined : member.slice(0, slash);
  if (addresses.size >= 4096) addresses.clear();
  addresses.set(member, address);
  return address;
}
const addresses = new Map<MemberId, PeerAddress | undefined>();
