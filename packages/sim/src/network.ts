/**
 * The simulated network: unreliable datagrams between members on the virtual clock. Every fault
 * is a data knob (delay, jitter, loss, duplication, partitions, link-down hints), so a fault mix
 * is a value that a seed picks and a phase can change.
 */
import { copyFrameBytes, type MemberId } from '@synod/core';
import type { EventQueue } from './event-queue.js';
import type { Prng } from './prng.js';

export interface NetworkKnobs {
  /** Fixed one-way latency of every datagram. */
  baseDelayMs: number;
  /** Extra uniform random latency in [0, jitterMs): datagrams overtake each other. */
  jitterMs: number;
  /** Probability that one datagram to one destination is lost. */
  lossRate: number;
  /** Probability that one datagram to one destination arrives twice (with independent delays). */
  duplicateRate: number;
  /** Datagrams larger than this are dropped and reported: the member must fragment. */
  mtuBytes: number;
  /** When a member crashes or leaves, tell each survivor `linkDown(peer)` after a delay. */
  linkDownOnCrash: boolean;
  /** When a partition starts, tell each side `linkDown(peer)` about the other side after a delay. */
  linkDownOnPartition: boolean;
  linkDownDelayMs: number;
}

export const defaultNetworkKnobs: NetworkKnobs = {
  baseDelayMs: 2,
  jitterMs: 5,
  lossRate: 0,
  duplicateRate: 0,
  mtuBytes: 16 * 1024,
  linkDownOnCrash: false,
  linkDownOnPartition: false,
  linkDownDelayMs: 50,
};

export interface NetworkStats {
  datagrams: number;
  bytes: number;
  delivered: number;
  lost: number;
  duplicated: number;
  droppedPartition: number;
  droppedDead: number;
  oversize: number;
  linkDownHints: number;
}

export interface NetworkHandlers {
  /** A datagram arrives at `to`. */
  deliver(to: MemberId, from: MemberId, bytes: Uint8Array): void;
  /** The transport tells `observer` that its link to `peer` went down. */
  linkDown(observer: MemberId, peer: MemberId): void;
  /** A datagram exceeded the MTU (a protocol bug: it was dropped). */
  oversize(from: MemberId, to: MemberId, sizeBytes: number): void;
}

export class Network {
  readonly knobs: NetworkKnobs;
  readonly stats: NetworkStats = {
    datagrams: 0,
    bytes: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    droppedPartition: 0,
    droppedDead: 0,
    oversize: 0,
    linkDownHints: 0,
  };
  /** Member id → the node (process slot) it runs on; partitions are between nodes. */
  private readonly nodeOf = new Map<MemberId, number>();
  private readonly alive = new Set<MemberId>();
  /** Node → partition block; nodes absent from the map are in block 0. */
  private blockOf = new Map<number, number>();

  constructor(
    private readonly queue: EventQueue,
    private readonly prng: Prng,
    knobs: Partial<NetworkKnobs>,
    private readonly handlers: NetworkHandlers,
  ) {
    this.knobs = { ...defaultNetworkKnobs, ...knobs };
  }

  attach(member: MemberId, node: number): void {
    this.nodeOf.set(member, node);
    this.alive.add(member);
  }

  isAlive(member: MemberId): boolean {
    return this.alive.has(member);
  }

  /** The member stops (crash, leave, exclusion): its links drop, in-flight datagrams to it are lost. */
  detach(member: MemberId): void {
    if (!this.alive.delete(member)) return;
    if (!this.knobs.linkDownOnCrash) return;
    for (const observer of this.alive) {
      if (this.canReach(observer, member)) this.hintLinkDown(observer, member, () => true);
    }
  }

  blockOfNode(node: number): number {
    return this.blockOf.get(node) ?? 0;
  }

  get partitioned(): boolean {
    return this.blockOf.size > 0;
  }

  /** Splits the nodes into blocks that cannot reach each other; unlisted nodes join block 0. */
  partition(blocks: readonly (readonly number[])[]): void {
    const next = new Map<number, number>();
    blocks.forEach((nodes, block) => {
      for (const node of nodes) if (block !== 0) next.set(node, block);
    });
    this.blockOf = next;
    if (!this.knobs.linkDownOnPartition) return;
    for (const observer of this.alive) {
      for (const peer of this.alive) {
        if (observer !== peer && !this.canReach(observer, peer)) {
          this.hintLinkDown(observer, peer, () => !this.canReach(observer, peer));
        }
      }
    }
  }

  heal(): void {
    this.blockOf = new Map();
  }

  canReach(a: MemberId, b: MemberId): boolean {
    const nodeA = this.nodeOf.get(a);
    const nodeB = this.nodeOf.get(b);
    if (nodeA === undefined || nodeB === undefined) return false;
    return this.blockOfNode(nodeA) === this.blockOfNode(nodeB);
  }

  /** One datagram from `from` to each of `to`; each copy meets its own faults. */
  send(from: MemberId, to: readonly MemberId[], bytes: Uint8Array): void {
    if (!this.alive.has(from)) return;
    for (const dest of to) {
      this.stats.datagrams++;
      this.stats.bytes += bytes.length;
      if (bytes.length > this.knobs.mtuBytes) {
        this.stats.oversize++;
        this.handlers.oversize(from, dest, bytes.length);
        continue;
      }
      if (!this.canReach(from, dest)) {
        this.stats.droppedPartition++;
        continue;
      }
      if (this.prng.chance(this.knobs.lossRate)) {
        this.stats.lost++;
        continue;
      }
      const copies = this.prng.chance(this.knobs.duplicateRate) ? 2 : 1;
      if (copies === 2) this.stats.duplicated++;
      for (let copy = 0; copy < copies; copy++) {
        // A private copy per destination, from the frame pool as the memory transport's are: a
        // receiver must not see another's mutations, and takes over this copy's reference.
        const datagram = copyFrameBytes(bytes);
        const delayMs = this.knobs.baseDelayMs + this.prng.next() * this.knobs.jitterMs;
        this.queue.after(delayMs, () => this.arrive(from, dest, datagram));
      }
    }
  }

  /** Bytes from an address that is not a member (hostile or confused peer). */
  inject(from: MemberId, to: MemberId, bytes: Uint8Array): void {
    const delayMs = this.knobs.baseDelayMs + this.prng.next() * this.knobs.jitterMs;
    this.queue.after(delayMs, () => {
      if (this.alive.has(to)) this.handlers.deliver(to, from, bytes);
    });
  }

  private arrive(from: MemberId, to: MemberId, bytes: Uint8Array): void {
    if (!this.alive.has(to)) {
      this.stats.droppedDead++;
      return;
    }
    // The partition is checked again on arrival: a datagram in flight when it began is lost.
    if (!this.canReach(from, to)) {
      this.stats.droppedPartition++;
      return;
    }
    this.stats.delivered++;
    this.handlers.deliver(to, from, bytes);
  }

  private hintLinkDown(observer: MemberId, peer: MemberId, stillTrue: () => boolean): void {
    const delayMs = this.knobs.linkDownDelayMs * (0.5 + this.prng.next());
    this.queue.after(delayMs, () => {
      if (!this.alive.has(observer) || !stillTrue()) return;
      this.stats.linkDownHints++;
      this.handlers.linkDown(observer, peer);
    });
  }
}
