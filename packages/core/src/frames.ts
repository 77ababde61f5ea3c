/**
 * The frame pool: frames are carved from 256 KiB slabs, and a slab is used again once every frame
 * carved from it has been released.
 *
 * Why: in V8 every ArrayBuffer costs a calloc, page faults and collector bookkeeping. A frame kept
 * until it is stable lives long enough (milliseconds: about a flow window) for its slab to be
 * promoted to the old generation, and every promoted external byte brings the next mark-compact
 * closer: with a fresh slab per 256 KiB, a 1 KiB abcast run spent its time in major collections.
 * A slab used again is never promoted twice and costs no allocation.
 *
 * The rule: every frame from allocFrameBytes or copyFrameBytes carries one reference to its slab.
 * Whoever keeps the bytes beyond the call that handed them over takes a reference of its own
 * (retainFrameBytes); every reference is released exactly once (releaseFrameBytes). A reference
 * never released only keeps its slab out of the pool: the collector frees it as before. A release
 * too many or too early would hand bytes still in use to a new frame; the simulator and the core's
 * tests run with setFramePoolChecks(true): each frame then has a slab of its own, poisoned at its
 * last release and never used again, so a frame read after its release reads junk and the run
 * fails, and a release too many throws.
 *
 * Bytes that do not come from this pool (plain Uint8Arrays, views into other buffers) may be passed
 * to retainFrameBytes and releaseFrameBytes: both do nothing with them.
 */
import { InvariantViolation } from './errors.js';

const SLAB_BYTES = 256 * 1024;
/** Longer frames get an ArrayBuffer of their own (and are not counted). */
const MAX_POOLED_BYTES = 64 * 1024;
/** Empty slabs kept for use again; more are left to the collector. */
const MAX_FREE_SLABS = 64;
const POISON = 0xdb;

/**
 * A slab's bookkeeping hangs on its ArrayBuffer, not in a WeakMap: V8's scavenges kept a young
 * WeakMap key alive, so every slab was promoted and the memory transport's raw rate fell by 7%.
 */
const SLAB = Symbol('synod.slab');
type SlabBuffer = ArrayBuffer & { [SLAB]?: Slab };

interface Slab {
  readonly buffer: ArrayBuffer;
  /** Frames carved from this slab and not released yet (references). */
  references: number;
  /** Bytes carved so far: no more will be once the slab is sealed. */
  used: number;
  /** No longer the slab frames are carved from: it returns to the pool when its references end. */
  sealed: boolean;
}

/** Counters for tests and benchmarks. */
export interface FramePoolStats {
  /** Slabs allocated from the system. */
  slabsAllocated: number;
  /** Slabs that came back once all their frames were released. */
  slabsRecycled: number;
}

class FramePool {
  private current: Slab | undefined;
  private readonly free: ArrayBuffer[] = [];
  checks = false;
  readonly stats: FramePoolStats = { slabsAllocated: 0, slabsRecycled: 0 };

  alloc(length: number): Uint8Array {
    if (length > MAX_POOLED_BYTES) return new Uint8Array(length);
    if (this.checks) {
      // A slab per frame: every last release poisons exactly that frame's bytes.
      const buffer = new ArrayBuffer(length);
      (buffer as SlabBuffer)[SLAB] = { buffer, references: 1, used: length, sealed: true };
      return new Uint8Array(buffer);
    }
    let slab = this.current;
    if (slab === undefined || slab.used + length > SLAB_BYTES) slab = this.nextSlab();
    // The constructor, not subarray(): it skips the species lookup, a third of the cost.
    const bytes = new Uint8Array(slab.buffer, slab.used, length);
    slab.used = (slab.used + length + 7) & ~7;
    slab.references++;
    return bytes;
  }

  /** Keeps the first `length` bytes of `bytes`: when it is the latest frame carved, the rest goes back to the slab. */
  trim(bytes: Uint8Array, length: number): void {
    const slab = this.current;
    if (length !== bytes.length && slab !== undefined && bytes.buffer === slab.buffer && ((bytes.byteOffset + bytes.length + 7) & ~7) === slab.used) {
      // Never written past `length` (a writer only writes what it reserved and used), so still zero.
      slab.used = (bytes.byteOffset + length + 7) & ~7;
    }
  }

  holds(bytes: Uint8Array): boolean {
    const slab = (bytes.buffer as SlabBuffer)[SLAB];
    return slab !== undefined && slab.references > 0;
  }

  retain(bytes: Uint8Array): void {
    const slab = (bytes.buffer as SlabBuffer)[SLAB];
    if (slab === undefined) return;
    if (slab.references <= 0) throw new InvariantViolation('a frame was retained after its last release');
    slab.references++;
  }

  release(bytes: Uint8Array): void {
    const slab = (bytes.buffer as SlabBuffer)[SLAB];
    if (slab === undefined) return;
    if (slab.references <= 0) throw new InvariantViolation('a frame was released more often than it was referenced');
    if (--slab.references === 0 && slab.sealed) this.recycle(slab);
  }

  private nextSlab(): Slab {
    const previous = this.current;
    if (previous !== undefined) {
      previous.sealed = true;
      if (previous.references === 0) this.recycle(previous);
    }
    let buffer = this.free.pop();
    if (buffer === undefined) {
      buffer = new ArrayBuffer(SLAB_BYTES);
      this.stats.slabsAllocated++;
    }
    const slab: Slab = { buffer, references: 0, used: 0, sealed: false };
    (buffer as SlabBuffer)[SLAB] = slab;
    this.current = slab;
    return slab;
  }

  private recycle(slab: Slab): void {
    this.stats.slabsRecycled++;
    if (this.checks) {
      // Never used again: whoever still reads it reads junk, and a release or retain too many throws.
      new Uint8Array(slab.buffer, 0, slab.used).fill(POISON);
      return;
    }
    // Its frames' views may still exist (released, so never to be read again): a release of one
    // too many finds this slab with no references and throws, until the buffer is used again.
    if (this.free.length >= MAX_FREE_SLABS) return;
    // Fresh bytes are zero, as a new ArrayBuffer's are.
    new Uint8Array(slab.buffer, 0, slab.used).fill(0);
    this.free.push(slab.buffer);
  }
}

const pool = new FramePool();

/** Fresh zeroed bytes for a frame, with one reference to release: never to be handed to an app, which could pin its slab. */
export function allocFrameBytes(length: number): Uint8Array {
  return pool.alloc(length);
}

/** allocFrameBytes() holding a copy of `source` (a transport's copy of what it carries). */
export function copyFrameBytes(source: Uint8Array): Uint8Array {
  const bytes = pool.alloc(source.length);
  bytes.set(source);
  return bytes;
}

/** Gives back the unused tail of the latest frame carved (a writer that reserved more than it wrote). */
export function trimFrameBytes(bytes: Uint8Array, length: number): void {
  pool.trim(bytes, length);
}

/** Whether `bytes` are (a view into) a frame of the pool still in use. */
export function isFrameBytes(bytes: Uint8Array): boolean {
  return pool.holds(bytes);
}

/** Takes one more reference to the slab of `bytes` (any view into a pooled frame). */
export function retainFrameBytes(bytes: Uint8Array): void {
  pool.retain(bytes);
}

/** Gives up one reference to the slab of `bytes`; the caller must not read them afterwards. */
export function releaseFrameBytes(bytes: Uint8Array): void {
  pool.release(bytes);
}

/** A slab per frame, poisoned at its last release and never used again (for the simulator and tests). */
export function setFramePoolChecks(on: boolean): void {
  pool.checks = on;
}

export function framePoolStats(): Readonly<FramePoolStats> {
  return { ...pool.stats };
}

/**
 * Releases that must wait until the runtime is done with an output: a frame the member stops
 * holding may still be in the sends or the delivered payloads of the output the runtime takes
 * next. add() queues; turn(), at each takeOutput(), releases what was queued before the previous
 * takeOutput() (whose output the runtime has finished with by then).
 */
export class DeferredReleases {
  private queued: Uint8Array[] = [];
  private due: Uint8Array[] = [];

  add(bytes: Uint8Array): void {
    this.queued.push(bytes);
  }

  turn(): void {
    const due = this.due;
    this.due = this.queued;
    this.queued = due;
    try {
      for (let i = 0; i < due.length; i++) pool.release(due[i]!);
    } finally {
      // Even when a release throws (a bug): none is repeated at a later turn.
      due.length = 0;
    }
  }
}
