/**
 * A world of whole peers (the public Group API over the real core) on the virtual clock, for
 * testing what is built on groups: the toolkit, shared objects, the demo's logic. Same seed, same
 * run: time, timers, randomness and the network all come from here, and the driver drains every
 * promise reaction between two events, so async app code interleaves deterministically.
 *
 *   const world = new World({ seed: 7, lossRate: 0.05 });
 *   const [a, b, c] = await world.peers(3);
 *   const groups = await world.settle(Promise.all([a, b, c].map((p) => p.join('g'))));
 *   world.partition([[a], [b, c]]);
 *   await world.run(3000);
 *
 * A crash is total: the peer's transport goes silent and its timers never fire again, so the
 * app code of a crashed peer stops where it was (as a killed process does).
 */
import { SynodError, emptyTransportStats, type PeerAddress, type Transport, type TransportStats } from '@synod/core';
import { createPeer, type Clock, type Peer, type PeerOptions } from '@synod/peer';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';

export interface WorldOptions {
  readonly seed: number;
  /** One-way latency of every datagram. Default 2. */
  readonly baseDelayMs?: number;
  /** Extra uniform latency in [0, jitterMs): datagrams overtake each other. Default 3. */
  readonly jitterMs?: number;
  /** Probability that a datagram is lost. Default 0. */
  readonly lossRate?: number;
  /** Probability that a datagram arrives twice. Default 0. */
  readonly duplicateRate?: number;
  /** Default 16 KiB, the data-channel limit. */
  readonly mtuBytes?: number;
  /** Survivors hear linkDown for a crashed peer after this long (a transport's hint). Default 30; null: never. */
  readonly linkDownAfterMs?: number | null;
}

export type PeerOptionsInWorld = Omit<PeerOptions, 'transport' | 'clock' | 'random'>;

/** How long one `run`/`until` may take on the virtual clock before it gives up. */
const DEFAULT_LIMIT_MS = 60_000;

/** Every promise reaction queued so far (and those they queue) runs before this resolves. */
const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class World {
  readonly seed: number;
  readonly prng: Prng;
  lossRate: number;
  duplicateRate: number;
  private readonly queue = new EventQueue();
  private readonly baseDelayMs: number;
  private readonly jitterMs: number;
  private readonly mtuBytes: number;
  private readonly linkDownAfterMs: number | null;
  private readonly nodes = new Map<PeerAddress, SimTransport>();
  private readonly clocks = new Map<PeerAddress, PeerClock>();
  private readonly peersByAddress = new Map<PeerAddress, Peer>();
  private readonly blockOf = new Map<PeerAddress, number>();
  private nextAddress = 1;
  readonly stats = { datagrams: 0, lost: 0, duplicated: 0, droppedPartition: 0, droppedDead: 0, events: 0 };

  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.prng = new Prng(options.seed);
    this.baseDelayMs = options.baseDelayMs ?? 2;
    this.jitterMs = options.jitterMs ?? 3;
    this.lossRate = options.lossRate ?? 0;
    this.duplicateRate = options.duplicateRate ?? 0;
    this.mtuBytes = options.mtuBytes ?? 16 * 1024;
    this.linkDownAfterMs = options.linkDownAfterMs === undefined ? 30 : options.linkDownAfterMs;
  }

  get nowMs(): number {
    return this.queue.nowMs;
  }

  /** Where a failing assertion should say it came from: the seed to replay. */
  describe(): string {
    return `seed ${this.seed} at t=${this.nowMs} ms`;
  }

  /** A new peer (a new process: a fresh address, its own clock and randomness). */
  async peer(options: PeerOptionsInWorld = {}): Promise<Peer> {
    const address = `sim-${this.nextAddress++}`;
    const transport = new SimTransport(this, address);
    this.nodes.set(address, transport);
    const clock = new PeerClock(this.queue);
    this.clocks.set(address, clock);
    const random = this.prng.derive(address);
    const peer = await createPeer({ ...options, transport, clock, random: () => random.next() });
    this.peersByAddress.set(address, peer);
    return peer;
  }

  async peers(count: number, options?: PeerOptionsInWorld): Promise<Peer[]> {
    const made: Peer[] = [];
    for (let i = 0; i < count; i++) made.push(await this.peer(options));
    return made;
  }

  isAlive(peer: Peer | PeerAddress): boolean {
    return this.nodes.get(addressOfPeer(peer))?.open === true;
  }

  /** Kills a peer as SIGKILL does: no more frames in or out, no more timers. */
  crash(peer: Peer | PeerAddress): void {
    const address = addressOfPeer(peer);
    const node = this.nodes.get(address);
    if (!node?.open) return;
    node.open = false;
    this.clocks.get(address)?.stop();
    if (this.linkDownAfterMs === null) return;
    for (const other of this.nodes.values()) {
      if (other.open && other.knows(address)) this.queue.after(this.linkDownAfterMs, () => other.linkDown(address));
    }
  }

  /** Frames between different sides are dropped; peers not listed form one more side. */
  partition(sides: readonly (readonly (Peer | PeerAddress)[])[]): void {
    this.blockOf.clear();
    sides.forEach((side, index) => side.forEach((peer) => this.blockOf.set(addressOfPeer(peer), index + 1)));
  }

  heal(): void {
    this.blockOf.clear();
  }

  /** Runs the world for `ms` of virtual time. */
  async run(ms: number): Promise<void> {
    await this.runUntil(this.nowMs + ms);
  }

  /** Runs until `condition()` holds; throws (naming the seed) if it does not within `limitMs`. */
  async until(condition: () => boolean, what: string, limitMs = DEFAULT_LIMIT_MS): Promise<void> {
    if (!(await this.runUntil(this.nowMs + limitMs, condition))) {
      throw new Error(`${this.describe()}: timed out after ${limitMs} ms waiting for ${what}`);
    }
  }

  /** Runs until `promise` settles and returns its value (or throws its error). */
  async settle<T>(promise: Promise<T>, what = 'a promise', limitMs = DEFAULT_LIMIT_MS): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    await this.until(() => outcome !== undefined, what, limitMs);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.value;
  }

  /** Returns true if `stop` held, false if the time ran out. */
  private async runUntil(untilMs: number, stop?: () => boolean): Promise<boolean> {
    for (;;) {
      await drain();
      if (stop?.()) return true;
      if (!this.queue.step(untilMs)) {
        await drain();
        return stop?.() ?? true;
      }
      this.stats.events++;
    }
  }

  /** @internal */
  transmit(from: SimTransport, to: PeerAddress, bytes: Uint8Array): void {
    this.stats.datagrams++;
    const target = this.nodes.get(to);
    if (!target?.open) {
      this.stats.droppedDead++;
      return;
    }
    if ((this.blockOf.get(from.localId) ?? 0) !== (this.blockOf.get(to) ?? 0)) {
      this.stats.droppedPartition++;
      return;
    }
    if (this.prng.chance(this.lossRate)) {
      this.stats.lost++;
      return;
    }
    const copies = this.prng.chance(this.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const copy = bytes.slice();
      const delay = this.baseDelayMs + this.prng.real(0, this.jitterMs);
      this.queue.after(delay, () => {
        // A partition that started in flight, or a crash, drops it on arrival too.
        if (!target.open) {
          this.stats.droppedDead++;
          return;
        }
        if ((this.blockOf.get(from.localId) ?? 0) !== (this.blockOf.get(to) ?? 0)) {
          this.stats.droppedPartition++;
          return;
        }
        target.deliver(from.localId, copy);
      });
    }
  }

  /** @internal */
  reachable(from: PeerAddress): PeerAddress[] {
    return [...this.nodes.values()].filter((node) => node.open && node.localId !== from).map((node) => node.localId);
  }

  get mtu(): number {
    return this.mtuBytes;
  }
}

function addressOfPeer(peer: Peer | PeerAddress): PeerAddress {
  return typeof peer === 'string' ? peer : peer.id;
}

/** One peer's view of the virtual clock; a crash stops it for good. */
class PeerClock implements Clock {
  private stopped = false;
  private readonly live = new Set<{ cancelled: boolean }>();
  constructor(private readonly queue: EventQueue) {}
  now = (): number => this.queue.nowMs;
  setTimer = (callback: () => void, delayMs: number): unknown => {
    const handle = { cancelled: this.stopped };
    this.live.add(handle);
    this.queue.after(delayMs, () => {
      this.live.delete(handle);
      if (!handle.cancelled) callback();
    });
    return handle;
  };
  clearTimer = (handle: unknown): void => {
    const timer = handle as { cancelled: boolean } | undefined;
    if (timer) timer.cancelled = true;
  };
  stop(): void {
    this.stopped = true;
    for (const handle of this.live) handle.cancelled = true;
  }
}

class SimTransport implements Transport {
  readonly orderedLinks = false;
  readonly stats: TransportStats = emptyTransportStats();
  open = false;
  private closed = false;
  private readonly messageHandlers = new Set<(from: PeerAddress, bytes: Uint8Array) => void>();
  private readonly linkDownHandlers = new Set<(peer: PeerAddress) => void>();
  private readonly heard = new Set<PeerAddress>();

  constructor(
    private readonly world: World,
    readonly localId: PeerAddress,
  ) {}

  get mtuBytes(): number {
    return this.world.mtu;
  }

  async start(): Promise<void> {
    if (this.closed) throw new SynodError('CLOSED', `transport ${this.localId} is closed`);
    this.open = true;
  }

  send(to: PeerAddress, bytes: Uint8Array): void {
    if (!this.open) {
      this.stats.droppedUnreachable++;
      return;
    }
    if (bytes.byteLength > this.mtuBytes) {
      this.stats.droppedOversized++;
      return;
    }
    this.stats.framesSent++;
    this.stats.bytesSent += bytes.byteLength;
    this.heard.add(to);
    this.world.transmit(this, to, bytes);
  }

  deliver(from: PeerAddress, bytes: Uint8Array): void {
    if (!this.open) return;
    this.heard.add(from);
    this.stats.framesReceived++;
    this.stats.bytesReceived += bytes.byteLength;
    for (const handler of this.messageHandlers) handler(from, bytes);
  }

  knows(peer: PeerAddress): boolean {
    return this.heard.has(peer);
  }

  linkDown(peer: PeerAddress): void {
    if (!this.open) return;
    for (const handler of this.linkDownHandlers) handler(peer);
  }

  onMessage(handler: (from: PeerAddress, bytes: Uint8Array) => void): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  onLinkDown(handler: (peer: PeerAddress) => void): () => void {
    this.linkDownHandlers.add(handler);
    return () => this.linkDownHandlers.delete(handler);
  }

  peers(): PeerAddress[] {
    return this.open ? this.world.reachable(this.localId) : [];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.world.crash(this.localId); // peers see linkDown, as after a BYE
  }
}
