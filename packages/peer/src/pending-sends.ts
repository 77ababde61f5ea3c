/**
 * The sends of one incarnation not yet reported 'sent', by the core's local id. Local ids count up
 * from 1 and are reported almost always in order, so they live in a ring from the oldest unsettled
 * id on: no hash insert and delete per message, and no table for the collector to copy.
 */
export interface PendingSend<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

export class PendingSends<T> {
  private slots: (PendingSend<T> | undefined)[] = new Array<PendingSend<T> | undefined>(64).fill(undefined);
  /** The oldest local id that may be held; every id below it is settled. */
  private floor = 1;
  /** One past the highest id held. */
  private end = 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** `localId` is above every id added before (the core hands them out in increasing order). */
  add(localId: number, pending: PendingSend<T>): void {
    if (this.count === 0) {
      this.floor = localId;
      this.end = localId;
    }
    if (localId - this.floor >= this.slots.length) this.grow(localId - this.floor + 1);
    this.slots[localId & (this.slots.length - 1)] = pending;
    this.end = localId + 1;
    this.count++;
  }

  /** Removes and returns the send of `localId`, if held. */
  take(localId: number): PendingSend<T> | undefined {
    if (localId < this.floor || localId >= this.end) return undefined;
    const slot = localId & (this.slots.length - 1);
    const pending = this.slots[slot];
    if (pending === undefined) return undefined;
    this.slots[slot] = undefined;
    this.count--;
    while (this.floor < this.end && this.slots[this.floor & (this.slots.length - 1)] === undefined) this.floor++;
    return pending;
  }

  /** Removes and returns every send held, oldest first. */
  takeAll(): PendingSend<T>[] {
    const out: PendingSend<T>[] = [];
    for (let id = this.floor; id < this.end; id++) {
      const slot = id & (this.slots.length - 1);
      const pending = this.slots[slot];
      if (pending !== undefined) out.push(pending);
      this.slots[slot] = undefined;
    }
    this.floor = this.end;
    this.count = 0;
    return out;
  }

  private grow(span: number): void {
    let capacity = this.slots.length * 2;
    while (capacity < span) capacity *= 2;
    const slots = new Array<PendingSend<T> | undefined>(capacity).fill(undefined);
    for (let id = this.floor; id < this.end; id++) slots[id & (capacity - 1)] = this.slots[id & (this.slots.length - 1)];
    this.slots = slots;
  }
}
