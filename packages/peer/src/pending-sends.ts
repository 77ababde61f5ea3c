/**
 * The sends of one incarnation not yet reported 'sent', by the core's local id: each one's promise
 * and its resolving functions. Local ids count up from 1 and are reported almost always in order,
 * so they live in rings from the oldest unsettled id on: no hash insert and delete, no closure and
 * no record per message, and no table for the collector to copy.
 */
import { InvariantViolation } from '@synod/core';

type Resolve<T> = (value: T) => void;
type Reject = (error: unknown) => void;

// A promise's resolving functions, taken out by one executor shared by every send.
let capturedResolve: Resolve<never> | undefined;
let capturedReject: Reject | undefined;
function capture(resolve: Resolve<never>, reject: Reject): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** Past this size, an emptied ring starts over small. */
const MAX_IDLE_SLOTS = 1024;

export class PendingSends<T> {
  private resolves: (Resolve<T> | undefined)[] = new Array<Resolve<T> | undefined>(64).fill(undefined);
  private rejects: (Reject | undefined)[] = new Array<Reject | undefined>(64).fill(undefined);
  /** The oldest local id that may be held; every id below it is settled. */
  private floor = 1;
  /** One past the highest id held. */
  private end = 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The promise of the send `localId`, above every id added before (the core counts them up). */
  add(localId: number): Promise<T> {
    if (localId < this.end) throw new InvariantViolation(`local id ${localId} after ${this.end - 1}: ids must increase`);
    const promise = new Promise<T>(capture);
    if (this.count === 0) {
      this.floor = localId;
      this.end = localId;
      // A burst's ring is not kept for the life of the group.
      if (this.resolves.length > MAX_IDLE_SLOTS) this.reset();
    }
    if (localId - this.floor >= this.resolves.length) this.grow(localId - this.floor + 1);
    const slot = localId & (this.resolves.length - 1);
    this.resolves[slot] = capturedResolve as Resolve<T>;
    this.rejects[slot] = capturedReject;
    capturedResolve = capturedReject = undefined;
    this.end = localId + 1;
    this.count++;
    return promise;
  }

  /** Fulfils the send of `localId`, if held (and forgets it); false if it is not. */
  resolve(localId: number, value: T): boolean {
    if (localId < this.floor || localId >= this.end) return false;
    const slot = localId & (this.resolves.length - 1);
    const resolve = this.resolves[slot];
    if (resolve === undefined) return false;
    this.resolves[slot] = undefined;
    this.rejects[slot] = undefined;
    this.count--;
    while (this.floor < this.end && this.resolves[this.floor & (this.resolves.length - 1)] === undefined) this.floor++;
    resolve(value);
    return true;
  }

  /** Rejects every send held, oldest first, and forgets them. */
  rejectAll(error: unknown): void {
    const rejects: Reject[] = [];
    for (let id = this.floor; id < this.end; id++) {
      const slot = id & (this.resolves.length - 1);
      const reject = this.rejects[slot];
      if (reject !== undefined) rejects.push(reject);
      this.resolves[slot] = undefined;
      this.rejects[slot] = undefined;
    }
    this.floor = this.end;
    this.count = 0;
    for (const reject of rejects) reject(error);
  }

  private reset(): void {
    this.resolves = new Array<Resolve<T> | undefined>(64).fill(undefined);
    this.rejects = new Array<Reject | undefined>(64).fill(undefined);
  }

  private grow(span: number): void {
    let capacity = this.resolves.length * 2;
    while (capacity < span) capacity *= 2;
    const resolves = new Array<Resolve<T> | undefined>(capacity).fill(undefined);
    const rejects = new Array<Reject | undefined>(capacity).fill(undefined);
    for (let id = this.floor; id < this.end; id++) {
      const from = id & (this.resolves.length - 1);
      resolves[id & (capacity - 1)] = this.resolves[from];
      rejects[id & (capacity - 1)] = this.rejects[from];
    }
    this.resolves = resolves;
    this.rejects = rejects;
  }
}
