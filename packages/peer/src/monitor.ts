/**
 * Runs a group's upcalls one at a time, in delivery order, even when a task is async: the Isis
 * monitor. A task may call `release()` to let the next one start while it carries on.
 */
export type MonitorTask = (release: () => void) => void | PromiseLike<unknown>;

export class Monitor {
  private readonly queue: MonitorTask[] = [];
  private running = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Tasks never run inside enqueue(): the first runs in a microtask, so callers are not re-entered. */
  enqueue(task: MonitorTask): void {
    if (this.closed) return;
    this.queue.push(task);
    if (!this.running) {
      this.running = true;
      queueMicrotask(() => void this.run());
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Resolves when every task enqueued so far has run (or released the monitor). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops tasks not yet started; a task already running is not interrupted. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private async run(): Promise<void> {
    for (let task = this.queue.shift(); task; task = this.queue.shift()) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let result: void | PromiseLike<unknown>;
      try {
        result = task(release);
      } catch (error) {
        this.onError(error);
        continue;
      }
      if (result && typeof result.then === 'function') {
        const settled = Promise.resolve(result).then(
          () => undefined,
          (error: unknown) => this.onError(error),
        );
        await Promise.race([settled, released]);
      }
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
