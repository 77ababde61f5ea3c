/**
 * What the multi-process benchmarks (udp, webrtc) share: the worker's group half over any
 * transport (join, windowed casts, latency samples, leave), the command loop over IPC, and the
 * orchestrator's handle on a worker process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPeer, type Group, type JoinOptions, type Peer, type Transport, type TransportStats } from '@synod/peer';
import { sentAt, stamp, wallMs } from './lib.js';

export type Primitive = 'fbcast' | 'abcast';

export type GroupCommand =
  | { cmd: 'cast'; primitive: Primitive; count: number; size: number; total: number }
  | { cmd: 'cast-one'; primitive: Primitive; size: number }
  | { cmd: 'latencies' }
  | { cmd: 'leave' };

export interface CastResult {
  readonly startMs: number;
  readonly endMs: number;
  /** The transport's counters and the group's retransmissions, for the progress notes. */
  readonly stats: Record<string, number>;
}

export type Reply = (message: Record<string, unknown>) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A worker's member of group 'bench': every member casts its share with `window` sends in flight. */
export class GroupWorker {
  peer: Peer | undefined;
  group: Group | undefined;
  /** Latency phase: deliveries from others are timed and reported as `delivered-one` events. */
  measuring = false;
  private latencies: number[] = [];
  private delivered = 0;
  private deliveryTarget = Infinity;
  private onTarget: (() => void) | undefined;

  constructor(
    private readonly reply: Reply,
    private readonly members: number,
    private readonly window: number,
  ) {}

  async join(transport: Transport, timing: JoinOptions): Promise<string> {
    this.peer = await createPeer({ transport, trace: false });
    const group = await this.peer.join('bench', timing);
    this.group = group;
    // Counted from the join, not from the 'cast' command: the other members may start casting
    // (and this one deliver their messages) before that command reaches this worker.
    this.delivered = 0;
    group.handle<Uint8Array>('B', (message) => {
      this.delivered++;
      if (this.measuring && message.sender !== group.memberId) {
        this.latencies.push(wallMs() - sentAt(message.data));
        this.reply({ event: 'delivered-one' });
      }
      if (this.delivered >= this.deliveryTarget) this.onTarget?.();
    });
    return group.memberId;
  }

  /** Runs a group command and replies; false if `command` is not one. */
  async handle(command: { cmd: string }): Promise<boolean> {
    // Every command but 'leave' runs in a joined group.
    const group = this.group!;
    switch ((command as GroupCommand).cmd) {
      case 'cast': {
        const { primitive, count, size, total } = command as Extract<GroupCommand, { cmd: 'cast' }>;
        while (group.view!.members.length < this.members) await sleep(10);
        this.measuring = false;
        const done = new Promise<void>((resolve) => {
          this.deliveryTarget = total;
          this.onTarget = resolve;
          if (this.delivered >= total) resolve();
        });
        const startMs = wallMs();
        let inFlight = 0;
        let wake: (() => void) | undefined;
        const settle = () => {
          inFlight--;
          wake?.();
        };
        const payload = new Uint8Array(size);
        for (let i = 0; i < count; i++) {
          inFlight++;
          group[primitive]('B', payload).then(settle, settle);
          while (inFlight >= this.window) await new Promise<void>((resolve) => (wake = resolve));
        }
        await done;
        this.deliveryTarget = Infinity;
        const transportStats: TransportStats & { droppedBackpressure?: number } = this.peer!.transport.stats;
        const { framesSent, framesReceived, droppedUnreachable, droppedBackpressure = 0 } = transportStats;
        const { retransmitsSent, naksSent } = group.stats;
        const stats = { framesSent, framesReceived, droppedUnreachable, droppedBackpressure, retransmitsSent, naksSent };
        this.reply({ startMs, endMs: wallMs(), stats } satisfies CastResult as unknown as Record<string, unknown>);
        return true;
      }
      case 'cast-one': {
        const { primitive, size } = command as Extract<GroupCommand, { cmd: 'cast-one' }>;
        await group[primitive]('B', stamp(size));
        this.reply({});
        return true;
      }
      case 'latencies':
        this.measuring = false;
        this.reply({ latencies: this.latencies.splice(0) });
        return true;
      case 'leave':
        await this.peer?.close();
        this.peer = undefined;
        this.group = undefined;
        this.reply({});
        return true;
      default:
        return false;
    }
  }
}

/** The worker's loop: one command at a time, in order; the orchestrator's exit ends the worker. */
export function serveCommands<C>(handle: (command: C) => Promise<void>, onDisconnect: () => Promise<unknown> = async () => undefined): void {
  let queue = Promise.resolve();
  process.on('message', (command: C) => {
    queue = queue.then(() => handle(command)).catch((error) => {
      console.error(error);
      process.exit(1);
    });
  });
  process.on('disconnect', () => void onDisconnect().finally(() => process.exit(0)));
}

export interface Worker<C> {
  readonly child: ChildProcess;
  readonly events: string[];
  request(command: C): Promise<any>;
  /** Resolves once the worker has reported `count` events in all. */
  waitEvents(count: number): Promise<void>;
}

/**
 * Starts `script --worker` as worker `index` (env BENCH_INDEX). BENCH_WORKER_ARGS adds Node flags,
 * e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the workers.
 */
export function startWorker<C>(script: string, index: number): Worker<C> {
  const extra = process.env['BENCH_WORKER_ARGS']?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...extra, '--conditions=source', '--import', 'tsx', script, '--worker'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_INDEX: String(index) },
  });
  const pending: ((message: any) => void)[] = [];
  const events: string[] = [];
  const eventWaiters = new Set<() => void>();
  child.on('message', (message: any) => {
    if (message.event) {
      events.push(message.event);
      for (const waiter of [...eventWaiters]) waiter();
    } else pending.shift()?.(message);
  });
  return {
    child,
    events,
    request(command) {
      return new Promise((resolve) => {
        pending.push(resolve);
        child.send(command as object);
      });
    },
    waitEvents(count) {
      if (events.length >= count) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const check = () => {
          if (events.length >= count) {
            eventWaiters.delete(check);
            resolve();
          }
        };
        eventWaiters.add(check);
      });
    },
  };
}

/**
 * The orchestrator's start: `count` workers of `script`, killed when this process exits, and a
 * deadline after which `name` gives up (a stuck run must not hang `pnpm bench`).
 */
export function startWorkers<C>(script: string, count: number, name: string, deadlineMs: number): Worker<C>[] {
  const workers = Array.from({ length: count }, (_, i) => startWorker<C>(script, i));
  process.once('exit', () => killWorkers(workers));
  const deadline = setTimeout(() => {
    console.error(`${name}: not done after ${deadlineMs} ms; stopping`);
    process.exit(1);
  }, deadlineMs);
  deadline.unref();
  return workers;
}

/** SIGKILLs the workers still running. */
export function killWorkers(workers: readonly Worker<unknown>[]): void {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
}
