import { SynodError } from '@synod/core';
import { createFrameMac, type FrameMac } from '#frame-mac';
import { hkdfSha256 } from './sha256.js';

/**
 * Access control for a group: every frame of a keyed group ends with a tag, the first 16 bytes of
 * HMAC-SHA-256 over the whole frame before it (envelope header, sender id, core bytes), keyed by a
 * key derived from the group's secret for this group alone. A frame without a valid tag never
 * reaches the core. 128-bit tags: a forger's chance is 2^-128 a try.
 *
 * What the key proves is membership of the key's holders, not who among them sent a frame: every
 * member holds the same key, so members trust each other (one could forge another's frames).
 * A tag does not make a frame fresh: a recorded frame replayed from a view member is a duplicate
 * the core drops (sequence numbers, view ids); one from outside the view waits at the liveness
 * gate until its sender proves it is live (freshness.ts). Not stopped: traffic analysis, and denial
 * of service by whoever carries the bytes. Frames are authenticated, not encrypted: whoever
 * carries them can read them.
 */
export type GroupKey = Uint8Array | string;

/** Bytes of the tag that trails an authenticated frame. */
export const TAG_BYTES = 16;

const encoder = new TextEncoder();
/** Domain separation: a group's secret is stretched into a key for these frame tags (envelope versions 2 and 3) alone. */
const SALT = encoder.encode('synod/v1 group key');
const INFO_PREFIX = encoder.encode('frame-auth\u0000');

/** The bytes of a group's secret; throws SynodError INVALID_ARGUMENT on anything but a non-empty Uint8Array or string. */
export function keyBytes(key: unknown): Uint8Array {
  if (typeof key === 'string' && key.length > 0) return encoder.encode(key);
  if (key instanceof Uint8Array && key.length > 0) return key;
  throw new SynodError('INVALID_ARGUMENT', 'a group key must be a non-empty Uint8Array or string');
}

/** Signs and verifies the frames of one keyed group. */
export class FrameAuthenticator {
  private readonly mac: FrameMac;
  private readonly expected = new Uint8Array(TAG_BYTES);

  private constructor(frameKey: Uint8Array) {
    this.mac = createFrameMac(frameKey);
  }

  /** The group's frame key: HKDF-SHA-256 of the secret, bound to the group's name, so one secret can serve many groups. */
  static forGroup(key: unknown, group: string): FrameAuthenticator {
    const secret = keyBytes(key);
    const groupBytes = encoder.encode(group);
    const info = new Uint8Array(INFO_PREFIX.length + groupBytes.length);
    info.set(INFO_PREFIX);
    info.set(groupBytes, INFO_PREFIX.length);
    const frameKey = hkdfSha256(secret, SALT, info, 32);
    const authenticator = new FrameAuthenticator(frameKey);
    frameKey.fill(0);
    return authenticator;
  }

  /** Writes the tag of frame[0, length - TAG_BYTES) into the frame's last TAG_BYTES bytes. */
  sign(frame: Uint8Array): void {
    const tagAt = frame.length - TAG_BYTES;
    if (tagAt < 0) throw new RangeError('a frame is shorter than its tag');
    this.mac(frame.subarray(0, tagAt), frame, tagAt, TAG_BYTES);
  }

  /** Whether the frame's last TAG_BYTES bytes are the tag of the rest, compared in constant time. Never throws. */
  verify(frame: Uint8Array): boolean {
    const tagAt = frame.length - TAG_BYTES;
    if (tagAt < 0) return false;
    const expected = this.expected;
    this.mac(frame.subarray(0, tagAt), expected, 0, TAG_BYTES);
    let difference = 0;
    for (let i = 0; i < TAG_BYTES; i++) difference |= expected[i]! ^ frame[tagAt + i]!;
    return difference === 0;
  }
}
