/**
 * fifo: per-sender reliable streams within one view (JGroups NAKACK2). Seqnos start at 1 in each
 * view. Units are kept (as their encoded frames) until stable, so any holder can retransmit them.
 */
import { retainFrameBytes, type DeferredReleases } from './frames.js';

export interface StoredUnit {
  readonly frame: Uint8Array;
}

/**
 * Frames by seqno, all at or above a floor that only rises: a ring of slots rather than a Map,
 * which cost a hash insert and delete per unit and a large table for the GC to copy. It spans
 * from the floor to the highest seqno held: at most the unstable units and maxAheadUnits more.
 * It holds a reference to each frame's pooled slab (frames.ts) until the floor passes it.
 */
class FrameRing {
  private slots: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(64).fill(undefined);
  private floor = 1;

  constructor(private readonly releases: DeferredReleases | undefined) {}

  get(seqno: number): Uint8Array | undefined {
    if (seqno < this.floor || seqno - this.floor >= this.slots.length) return undefined;
    // `&` takes seqno modulo 2^32 first, which keeps the low bits of any safe integer.
    return this.slots[seqno & (this.slots.length - 1)];
  }

  /** `seqno` is at least the floor. */
  set(seqno: number, frame: Uint8Array): void {
    if (seqno - this.floor >= this.slots.length) this.grow(seqno - this.floor + 1);
    this.slots[seqno & (this.slots.length - 1)] = frame;
    if (this.releases) retainFrameBytes(frame);
  }

  /** Drops every frame below `floor`; returns how many bytes they held. */
  raiseFloor(floor: number): number {
    let freedBytes = 0;
    const end = Math.min(floor, this.floor + this.slots.length);
    for (let seqno = this.floor; seqno < end; seqno++) {
      const slot = seqno & (this.slots.length - 1);
      const frame = this.slots[slot];
      if (frame !== undefined) {
        freedBytes += frame.length;
        this.slots[slot] = undefined;
        this.releases?.add(frame);
      }
    }
    this.floor = Math.max(this.floor, floor);
    return freedBytes;
  }

  private grow(span: number): void {
    let capacity = this.slots.length * 2;
    while (capacity < span) capacity *= 2;
    const slots = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    for (let seqno = this.floor; seqno < this.floor + this.slots.length; seqno++) {
      const frame = this.slots[seqno & (this.slots.length - 1)];
      if (frame !== undefined) slots[seqno & (capacity - 1)] = frame;
    }
    this.slots = slots;
  }
}

export class Stream<U> {
  /** Highest seqno received with no gap before it (0: none). */
  contiguous = 0;
  /** Highest seqno known to exist from the sender itself: a unit of it, its own digest, or a flush cut. */
  knownMax = 0;
  /**
   * Highest seqno other members say they hold. Those units may still be on their way here (a deep
   * transport queue holds tens of milliseconds of them), so they are asked for only when the sender
   * is suspected or the view is flushing: asked for at once, they came twice, and the copies queued
   * behind the originals and delayed the next ones in turn.
   */
  heardMax = 0;
  /** Encoded frames kept for retransmission, by seqno, until stable. */
  private readonly store: FrameRing;
  storedBytes = 0;
  private readonly outOfOrder = new Map<number, U>();
  private stableSeqno = 0;

  /** `releases`: where the frames it stops keeping go (frames.ts); none: it takes no references. */
  constructor(
    private readonly maxAheadUnits: number,
    releases?: DeferredReleases,
  ) {
    this.store = new FrameRing(releases);
  }

  /**
   * Accepts a unit: 'ready' when it is the next in sequence (it becomes `contiguous`; takeNext()
   * then yields the held units it unblocked), 'held' when it arrived ahead of a gap, 'ignored' for
   * duplicates and units too far ahead.
   */
  accept(seqno: number, unit: U, frame: Uint8Array): 'ready' | 'held' | 'ignored' {
    if (seqno <= this.contiguous || seqno > this.contiguous + this.maxAheadUnits) return 'ignored';
    if (this.outOfOrder.size > 0 && this.outOfOrder.has(seqno)) return 'ignored';
    if (seqno > this.knownMax) this.knownMax = seqno;
    if (seqno > this.stableSeqno) {
      this.store.set(seqno, frame);
      this.storedBytes += frame.length;
    }
    if (seqno !== this.contiguous + 1) {
      this.outOfOrder.set(seqno, unit);
      return 'held';
    }
    this.contiguous = seqno;
    return 'ready';
  }

  /** The held unit that follows `contiguous`, if any; it becomes `contiguous`. */
  takeNext(): U | undefined {
    if (this.outOfOrder.size === 0) return undefined;
    const next = this.outOfOrder.get(this.contiguous + 1);
    if (next === undefined) return undefined;
    this.outOfOrder.delete(this.contiguous + 1);
    this.contiguous++;
    return next;
  }

  /** Records a unit this member sent itself. */
  appendOwn(seqno: number, frame: Uint8Array): void {
    this.contiguous = seqno;
    this.knownMax = seqno;
    this.store.set(seqno, frame);
    this.storedBytes += frame.length;
  }

  /** `direct`: from the sender itself or a flush cut; else heard from another member (heardMax). */
  learnMax(seqno: number, direct = true): void {
    const capped = Math.min(seqno, this.contiguous + this.maxAheadUnits);
    if (direct) {
      if (capped > this.knownMax) this.knownMax = capped;
    } else if (capped > this.heardMax) {
      this.heardMax = capped;
    }
  }

  /** Garbage-collects every unit up to `seqno`, which every member holds. */
  stabilize(seqno: number): void {
    if (seqno <= this.stableSeqno) return;
    this.storedBytes -= this.store.raiseFloor(seqno + 1);
    this.stableSeqno = seqno;
  }

  /**
   * Kept frames in [from, to], at most maxUnits. Only the seqnos that can be kept are visited
   * (above stable, at most maxAheadUnits past contiguous), so a NAK for [1, 2^53] costs no more
   * than one for what exists.
   */
  storedFrames(from: number, to: number, maxUnits: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const last = Math.min(to, this.contiguous + this.maxAheadUnits);
    for (let seqno = Math.max(from, this.stableSeqno + 1); seqno <= last && out.length < maxUnits; seqno++) {
      const frame = this.store.get(seqno);
      if (frame) out.push(frame);
    }
    return out;
  }

  get stable(): number {
    return this.stableSeqno;
  }

  /**
   * The missing ranges, first first, of units known to exist beyond what we hold (`heard`: or
   * heard of): at most `maxRanges` ranges and `maxUnits` units in all. Every hole, not only the
   * first: after a loss burst a stream has many, and one per retransmission round took seconds.
   */
  missing(maxUnits: number, heard: boolean, maxRanges: number): { from: number; to: number }[] {
    const max = heard ? Math.max(this.knownMax, this.heardMax) : this.knownMax;
    const out: { from: number; to: number }[] = [];
    let units = 0;
    for (let seqno = this.contiguous + 1; seqno <= max && units < maxUnits && out.length < maxRanges; seqno++) {
      if (this.outOfOrder.has(seqno)) continue;
      const from = seqno;
      while (seqno < max && units + (seqno - from + 1) < maxUnits && !this.outOfOrder.has(seqno + 1)) seqno++;
      out.push({ from, to: seqno });
      units += seqno - from + 1;
    }
    return out;
  }

  bufferedUnits(): number {
    return this.outOfOrder.size;
  }
}
