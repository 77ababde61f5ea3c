/**
 * fifo: per-sender reliable streams within one view (JGroups NAKACK2). Seqnos start at 1 in each
 * view. Units are kept (as their encoded frames) until stable, so any holder can retransmit them.
 */

export interface StoredUnit {
  readonly frame: Uint8Array;
}

export class Stream<U> {
  /** Highest seqno received with no gap before it (0: none). */
  contiguous = 0;
  /** Highest seqno anyone is known to hold. */
  knownMax = 0;
  /** Encoded frames kept for retransmission, by seqno, until stable. */
  readonly store = new Map<number, Uint8Array>();
  storedBytes = 0;
  private readonly outOfOrder = new Map<number, U>();
  private stableSeqno = 0;

  constructor(private readonly maxAheadUnits: number) {}

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

  learnMax(seqno: number): void {
    if (seqno > this.knownMax) this.knownMax = Math.min(seqno, this.contiguous + this.maxAheadUnits);
  }

  /** Garbage-collects every unit up to `seqno`, which every member holds. */
  stabilize(seqno: number): void {
    if (seqno <= this.stableSeqno) return;
    for (let s = this.stableSeqno + 1; s <= seqno; s++) {
      const frame = this.store.get(s);
      if (frame) {
        this.storedBytes -= frame.length;
        this.store.delete(s);
      }
    }
    this.stableSeqno = seqno;
  }

  get stable(): number {
    return this.stableSeqno;
  }

  /** The first missing range, if any unit is known to exist beyond what we hold. */
  missing(maxUnits: number): { from: number; to: number } | undefined {
    if (this.knownMax <= this.contiguous) return undefined;
    const from = this.contiguous + 1;
    let to = from;
    while (to < this.knownMax && to - from + 1 < maxUnits && !this.outOfOrder.has(to + 1)) to++;
    return { from, to };
  }

  bufferedUnits(): number {
    return this.outOfOrder.size;
  }
}
