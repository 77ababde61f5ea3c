/**
 * The virtual clock: a priority queue of actions ordered by (time, insertion sequence), so two
 * events at the same instant always run in the order they were scheduled. Nothing here reads a
 * real clock.
 */

interface Entry {
  readonly atMs: number;
  readonly seq: number;
  readonly action: () => void;
}

export class EventQueue {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private current = 0;
  /** Events run so far. */
  processed = 0;

  get nowMs(): number {
    return this.current;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `action` at `atMs`; a time in the past means "now, after what is already due". */
  at(atMs: number, action: () => void): void {
    const entry: Entry = { atMs: Math.max(atMs, this.current), seq: this.seq++, action };
    this.heap.push(entry);
    this.siftUp(this.heap.length - 1);
  }

  after(delayMs: number, action: () => void): void {
    this.at(this.current + Math.max(0, delayMs), action);
  }

  /**
   * Runs every event due at or before `untilMs` (or until `stop()` says so, checked between
   * events), then advances the clock to `untilMs`. Returns false if it stopped early.
   */
  runUntil(untilMs: number, stop?: () => boolean): boolean {
    for (;;) {
      if (stop?.()) return false;
      const head = this.heap[0];
      if (head === undefined || head.atMs > untilMs) break;
      this.pop();
      this.current = head.atMs;
      this.processed++;
      head.action();
    }
    this.current = Math.max(this.current, untilMs);
    return true;
  }

  /**
   * Runs the next event if it is due at or before `untilMs` and returns true; otherwise advances
   * the clock to `untilMs` and returns false. For drivers that must do work between events.
   */
  step(untilMs: number): boolean {
    const head = this.heap[0];
    if (head === undefined || head.atMs > untilMs) {
      this.current = Math.max(this.current, untilMs);
      return false;
    }
    this.pop();
    this.current = head.atMs;
    this.processed++;
    head.action();
    return true;
  }

  private pop(): void {
    const last = this.heap.pop() as Entry;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
  }

  private before(i: number, j: number): boolean {
    const x = this.heap[i] as Entry;
    const y = this.heap[j] as Entry;
    return x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq);
  }

  private swap(i: number, j: number): void {
    const held = this.heap[i] as Entry;
    this.heap[i] = this.heap[j] as Entry;
    this.heap[j] = held;
  }

  private siftUp(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(index: number): void {
    let i = index;
    const n = this.heap.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.before(left, smallest)) smallest = left;
      if (right < n && this.before(right, smallest)) smallest = right;
      if (smallest === i) break;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
