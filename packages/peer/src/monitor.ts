import { scheduleMicrotask } from './microtask.js';

/**
 * Runs a group's upcalls one at a time, in delivery order, even when a task is async: the Isis
 * monitor. A task may call `release()` to let the next one start while it carries on.
 */
export type MonitorTask = ((release: () => void) => void | PromiseLike<unknown>) | MonitorJob;

/**
 * A task as an object, so that what runs once per message needs no closures made per message:
 * `monitor.release(token)` is its release().
 */
export interface MonitorJob {
  run(monitor: Monitor, token: number): void | PromiseLike<unknown>;
}

/** Past this size, an emptied ring starts over small. */
const MAX_IDLE_SLOTS = 1024;

export class Monitor {
  /**
   * Tasks waiting, in a ring from `head` (`count` of them): shift() is O(n) on long arrays, and an
   * array regrown for each burst of deliveries was about a twentieth of the data path's garbage. It
   * grows by doubling and keeps its size while in use (emptied, a large one starts over small).
   */
  private ring: (MonitorTask | undefined)[] = new Array<MonitorTask | undefined>(64).fill(undefined);
  private head = 0;
  private count = 0;
  private running = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** The running task's token, whether it released the monitor, and what wakes the run loop then. */
  private token = 0;
  private released = false;
  private wake: (() => void) | undefined;

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Tasks never run inside enqueue(): the first runs in a microtask, so callers are not re-entered. */
  enqueue(task: MonitorTask): void {
    if (this.closed) return;
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = task;
    this.count++;
    if (!this.running) {
      this.running = true;
      scheduleMicrotask(this.runTask);
    }
  }

  get pending(): number {
    return this.count;
  }

  /** run(), made once. */
  private readonly runTask = (): void => void this.run();

  private next(): MonitorTask | undefined {
    if (this.count === 0) {
      // A burst's ring is not kept for the life of the group.
      if (this.ring.length > MAX_IDLE_SLOTS) {
        this.ring = new Array<MonitorTask | undefined>(64).fill(undefined);
        this.head = 0;
      }
      return undefined;
    }
    const task = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & (this.ring.length - 1);
    this.count--;
    return task;
  }

  private grow(): void {
    const ring = new Array<MonitorTask | undefined>(this.ring.length * 2).fill(undefined);
    for (let i = 0; i < this.count; i++) ring[i] = this.ring[(this.head + i) & (this.ring.length - 1)];
    this.ring = ring;
    this.head = 0;
  }

  /** Resolves when every task enqueued so far has run (or released the monitor). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Lets the next task start while task `token` carries on; a no-op once it finished. */
  release(token: number): void {
    if (token !== this.token || this.released) return;
    this.released = true;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Drops tasks not yet started; a task already running is not interrupted. */
  close(): void {
    this.closed = true;
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
  }

  private async run(): Promise<void> {
    for (let task = this.next(); task; task = this.next()) {
      const token = ++this.token;
      this.released = false;
      let result: void | PromiseLike<unknown>;
      try {
        result = typeof task === 'function' ? task(() => this.release(token)) : task.run(this, token);
      } catch (error) {
        this.onError(error);
        continue;
      }
      if (result && typeof result.then === 'function') {
        const settled = Promise.resolve(result).then(
          () => undefined,
          (error: unknown) => this.onError(error),
        );
        // The promise that waits for release() is made only for tasks that did not finish at once.
        if (!this.released) await Promise.race([settled, new Promise<void>((resolve) => (this.wake = resolve))]);
        this.wake = undefined;
      }
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
