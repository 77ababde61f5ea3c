import type { MemberId } from '@synod/core';
import { constantTimeEqual } from './sha256.js';

/**
 * The liveness gate of a keyed group: replay protection where the core has none.
 *
 * A key stops forgery, not replay. Whoever carries the frames (a WebRTC signaling server can put
 * itself in the middle of the links it signals) can record authentic frames and send them again
 * later. Frames from members of the receiver's view are safe to replay: the core drops what it has
 * (sequence numbers, view ids). Frames from outside the view are not: a departed member's recorded
 * join request makes the coordinator admit it again, a ghost, and a few ghosts at once leave the
 * live members a minority of their own view, blocked for good; recorded discovery frames count as
 * peers looking for the group, which decides who founds it.
 *
 * So a frame from a sender outside this member's current view reaches the core only once the
 * sender has proved it is live now: the gate holds the frame, sends the sender a challenge with a
 * fresh random nonce, and releases what it holds when the sender echoes the nonce in a response
 * naming the challenger (control frames are authenticated like the rest). A departed member cannot
 * answer: its peer's runtime answers only for its current member id. A proof lasts
 * VERIFIED_FOR_MS for a sender outside the view, and ends as soon as a view drops the sender.
 *
 * Control frame: kind:u8 (1 challenge, 2 response) | nonce:8 bytes | target member id:utf8 (the
 * challenged member in a challenge, the challenger in a response).
 */
export const ControlKind = { Challenge: 1, Response: 2 } as const;

const NONCE_BYTES = 8;
/** How long a proof of liveness admits a sender that is not in the view. */
export const VERIFIED_FOR_MS = 5000;
/** A sender still unproven after this long is challenged again by its next frame (the first challenge or response was lost). */
export const CHALLENGE_AGAIN_AFTER_MS = 200;
/** Frames held for an unproven sender are dropped (and counted) after this long. */
export const HOLD_FOR_MS = 2000;
/** Frames held per unproven sender; older ones are dropped (the core retransmits what matters). */
const MAX_HELD_FRAMES = 16;
/** Challenges a sender may answer at once (a response slower than CHALLENGE_AGAIN_AFTER_MS still counts). */
const MAX_OPEN_NONCES = 4;
/** Unproven senders tracked at once; the oldest is dropped for a new one. */
const MAX_UNPROVEN_SENDERS = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface GateHost {
  /** This member's current id. */
  readonly self: MemberId;
  now(): number;
  /** Uniform in [0, 1); cryptographically strong in production (a nonce must not be guessable). */
  random(): number;
  /** Whether the sender is in this member's current view. */
  isMember(sender: MemberId): boolean;
  sendControl(to: MemberId, control: Uint8Array): void;
  /** Hand a frame to the core. */
  release(sender: MemberId, payload: Uint8Array): void;
  /** Frames held for a sender that never proved itself live, now dropped. */
  dropped(count: number): void;
}

interface Unproven {
  /** The nonces of the challenges it may answer, newest last. */
  readonly nonces: Uint8Array[];
  readonly challengedAtMs: number;
  readonly firstHeldAtMs: number;
  readonly held: Uint8Array[];
}

export function encodeControl(kind: number, nonce: Uint8Array, target: MemberId): Uint8Array {
  const targetBytes = encoder.encode(target);
  const bytes = new Uint8Array(1 + NONCE_BYTES + targetBytes.length);
  bytes[0] = kind;
  bytes.set(nonce, 1);
  bytes.set(targetBytes, 1 + NONCE_BYTES);
  return bytes;
}

/** A control frame's fields, or undefined when malformed. Never throws. */
export function decodeControl(bytes: Uint8Array): { kind: number; nonce: Uint8Array; target: MemberId } | undefined {
  const kind = bytes[0];
  if (bytes.length <= 1 + NONCE_BYTES || (kind !== ControlKind.Challenge && kind !== ControlKind.Response)) return undefined;
  try {
    return { kind, nonce: bytes.subarray(1, 1 + NONCE_BYTES), target: decoder.decode(bytes.subarray(1 + NONCE_BYTES)) };
  } catch {
    return undefined;
  }
}

export class LivenessGate {
  /** Sender → when it last proved itself live. */
  private readonly verified = new Map<MemberId, number>();
  /** Senders challenged and not yet proven, oldest first. */
  private readonly unproven = new Map<MemberId, Unproven>();

  constructor(private readonly host: GateHost) {}

  /** True: hand the frame to the core now. False: held until the sender proves it is live (or dropped). */
  admit(sender: MemberId, payload: Uint8Array): boolean {
    if (sender === this.host.self || this.host.isMember(sender)) return true;
    const nowMs = this.host.now();
    const verifiedAtMs = this.verified.get(sender);
    if (verifiedAtMs !== undefined && nowMs - verifiedAtMs < VERIFIED_FOR_MS) return true;
    let entry = this.unproven.get(sender);
    if (entry && nowMs - entry.firstHeldAtMs >= HOLD_FOR_MS) {
      this.discard(sender, entry);
      entry = undefined;
    }
    if (!entry || nowMs - entry.challengedAtMs >= CHALLENGE_AGAIN_AFTER_MS) {
      const nonces = [...(entry?.nonces ?? []), this.nonce()].slice(-MAX_OPEN_NONCES);
      entry = { nonces, challengedAtMs: nowMs, firstHeldAtMs: entry?.firstHeldAtMs ?? nowMs, held: entry?.held ?? [] };
      this.unproven.delete(sender);
      if (this.unproven.size >= MAX_UNPROVEN_SENDERS) {
        const [oldest, oldestEntry] = this.unproven.entries().next().value!;
        this.discard(oldest, oldestEntry);
      }
      this.unproven.set(sender, entry);
      this.host.sendControl(sender, encodeControl(ControlKind.Challenge, nonces.at(-1)!, sender));
    }
    // Held for up to a challenge's round trip and more: its own bytes, not a view pinning a pooled
    // slab of the transport's frames.
    entry.held.push(payload.slice());
    if (entry.held.length > MAX_HELD_FRAMES) {
      entry.held.shift();
      this.host.dropped(1);
    }
    return false;
  }

  /** A control frame from `sender`, already authenticated. */
  control(sender: MemberId, bytes: Uint8Array): void {
    const control = decodeControl(bytes);
    if (!control) return;
    if (control.kind === ControlKind.Challenge) {
      // Answer only for the member id this runtime has now: a departed incarnation stays silent.
      if (control.target === this.host.self) this.host.sendControl(sender, encodeControl(ControlKind.Response, control.nonce, sender));
      return;
    }
    const entry = this.unproven.get(sender);
    if (control.target !== this.host.self || !entry || !entry.nonces.some((nonce) => constantTimeEqual(nonce, control.nonce))) return;
    this.unproven.delete(sender);
    this.verified.set(sender, this.host.now());
    for (const payload of entry.held) this.host.release(sender, payload);
  }

  /** A view was installed: members that left it must prove themselves again. */
  viewInstalled(left: readonly MemberId[]): void {
    for (const member of left) this.verified.delete(member);
  }

  /** Forget expired proofs; drop frames held too long. Called on the runtime's timer. */
  sweep(): void {
    const nowMs = this.host.now();
    for (const [sender, atMs] of this.verified) if (nowMs - atMs >= VERIFIED_FOR_MS) this.verified.delete(sender);
    for (const [sender, entry] of this.unproven) if (nowMs - entry.firstHeldAtMs >= HOLD_FOR_MS) this.discard(sender, entry);
  }

  /** Frames held now, for tests and stats. */
  get heldFrames(): number {
    let count = 0;
    for (const entry of this.unproven.values()) count += entry.held.length;
    return count;
  }

  private discard(sender: MemberId, entry: Unproven): void {
    this.unproven.delete(sender);
    if (entry.held.length > 0) this.host.dropped(entry.held.length);
  }

  private nonce(): Uint8Array {
    const nonce = new Uint8Array(NONCE_BYTES);
    const view = new DataView(nonce.buffer);
    view.setUint32(0, Math.floor(this.host.random() * 0x1_0000_0000));
    view.setUint32(4, Math.floor(this.host.random() * 0x1_0000_0000));
    return nonce;
  }
}
