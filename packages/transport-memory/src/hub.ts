import { SynodError, copyFrameBytes, emptyTransportStats, type PeerAddress, type Transport, type TransportStats } from '@synod/core';

/**
 * An in-process network: every transport created on one hub can reach every other one, with
 * knobs to lose frames, partition the hub and kill a peer. Delivery is asynchronous (a macrotask
 * after send), never re-entrant, FIFO per link. Frames are copied on send (into the frame pool:
 * a received frame is a view, so address its `.buffer` through byteOffset and byteLength, and
 * copy what you keep: a kept view pins its whole slab).
 */
export interface HubOptions {
  /** Largest datagram. Default 16 KiB, the WebRTC data-channel limit, so fragmentation is exercised. */
  readonly mtuBytes?: number;
  /** Randomness for the loss knob. Default Math.random (a test tool, not the protocol core). */
  readonly random?: () => number;
}

export interface HubStats {
  delivered: number;
  droppedLoss: number;
  droppedPartition: number;
  droppedDead: number;
}

export interface Hub {
  readonly mtuBytes: number;
  readonly stats: HubStats;
  /** Addresses of the transports that are started and not closed or killed. */
  live(): PeerAddress[];
  /** Drop each frame independently with this probability (0 ≤ rate ≤ 1). */
  setLoss(rate: number): void;
  /**
   * Split the hub: frames between different sides are dropped. Addresses not listed share one more
   * side. Links stay "up" (no linkDown) unless `linkDown` is set, as when a network path stalls.
   */
  partition(sides: readonly (readonly PeerAddress[])[], options?: { linkDown?: boolean }): void;
  heal(): void;
  /**
   * Crash a peer: its transport stops sending and receiving at once. The others see linkDown unless
   * `silent`, in which case only failure detection can notice.
   */
  kill(address: PeerAddress, options?: { silent?: boolean }): void;
  /** Deliver raw bytes to `to` as if sent by `from`, bypassing the sender's checks (hostile frames). */
  inject(from: PeerAddress, to: PeerAddress, bytes: Uint8Array): void;
  /** Resolves once every frame queued so far has been delivered or dropped. */
  settle(): Promise<void>;
}

export interface MemoryInit {
  readonly hub: Hub;
  /** Default: a fresh `mem-…` address. An address is never reused on one hub. */
  readonly id?: PeerAddress;
}

type Event =
  | { readonly type: 'frame'; readonly from: PeerAddress; readonly to: PeerAddress; readonly bytes: Uint8Array }
  | { readonly type: 'linkDown'; readonly from: PeerAddress; readonly to: PeerAddress };

interface Endpoint {
  readonly address: PeerAddress;
  readonly stats: TransportStats;
  state: 'created' | 'open' | 'closed';
  readonly messageHandlers: Set<(from: PeerAddress, bytes: Uint8Array) => void>;
  readonly linkDownHandlers: Set<(peer: PeerAddress) => void>;
}

/** A macrotask, so timers and I/O interleave with delivery; browsers lack setImmediate and clamp setTimeout(0). */
const scheduleMacrotask: (callback: () => void) => void = (() => {
  if (typeof globalThis.setImmediate === 'function') return (callback: () => void) => void globalThis.setImmediate(callback);
  if (typeof globalThis.MessageChannel === 'function') {
    const channel = new MessageChannel();
    const callbacks: (() => void)[] = [];
    channel.port1.onmessage = () => callbacks.shift()?.();
    return (callback: () => void) => {
      callbacks.push(callback);
      channel.port2.postMessage(undefined);
    };
  }
  return (callback: () => void) => void globalThis.setTimeout(callback, 0);
})();

class MemoryHub implements Hub {
  readonly mtuBytes: number;
  readonly stats: HubStats = { delivered: 0, droppedLoss: 0, droppedPartition: 0, droppedDead: 0 };
  private readonly random: () => number;
  private readonly endpoints = new Map<PeerAddress, Endpoint>();
  private queue: Event[] = [];
  private drainScheduled = false;
  private settleWaiters: { readonly untilEvent: number; readonly resolve: () => void }[] = [];
  private eventsEnqueued = 0;
  private eventsProcessed = 0;
  private lossRate = 0;
  private sideOf: Map<PeerAddress, number> | undefined;
  private nextAnonymous = 1;

  constructor(options: HubOptions) {
    const mtuBytes = options.mtuBytes ?? 16 * 1024;
    if (!Number.isInteger(mtuBytes) || mtuBytes < 64) {
      throw new SynodError('INVALID_ARGUMENT', `mtuBytes must be an integer ≥ 64, got ${mtuBytes}`);
    }
    this.mtuBytes = mtuBytes;
    this.random = options.random ?? Math.random;
  }

  live(): PeerAddress[] {
    return [...this.endpoints.values()].filter((e) => e.state === 'open').map((e) => e.address);
  }

  setLoss(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new SynodError('INVALID_ARGUMENT', `loss rate must be in [0, 1], got ${rate}`);
    this.lossRate = rate;
  }

  partition(sides: readonly (readonly PeerAddress[])[], options: { linkDown?: boolean } = {}): void {
    const sideOf = new Map<PeerAddress, number>();
    sides.forEach((side, index) => {
      for (const address of side) sideOf.set(address, index);
    });
    this.sideOf = sideOf;
    if (options.linkDown) {
      const open = this.live();
      for (const a of open) for (const b of open) if (a !== b && !this.reachable(a, b)) this.enqueue({ type: 'linkDown', from: a, to: b });
    }
  }

  heal(): void {
    this.sideOf = undefined;
  }

  kill(address: PeerAddress, options: { silent?: boolean } = {}): void {
    const endpoint = this.endpoints.get(address);
    if (!endpoint) throw new SynodError('INVALID_ARGUMENT', `no transport ${address} on this hub`);
    this.shutDown(endpoint, !options.silent);
  }

  inject(from: PeerAddress, to: PeerAddress, bytes: Uint8Array): void {
    this.enqueue({ type: 'frame', from, to, bytes: bytes.slice() });
  }

  settle(): Promise<void> {
    const untilEvent = this.eventsEnqueued;
    if (this.eventsProcessed >= untilEvent) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push({ untilEvent, resolve }));
  }

  // ---- used by MemoryTransport ----

  register(id: PeerAddress | undefined): Endpoint {
    let address = id;
    if (address === undefined) {
      do address = `mem-${this.nextAnonymous++}`;
      while (this.endpoints.has(address));
    }
    if (typeof address !== 'string' || address.length === 0) {
      throw new SynodError('INVALID_ARGUMENT', 'a transport id must be a non-empty string');
    }
    if (this.endpoints.has(address)) {
      throw new SynodError(
        'INVALID_ARGUMENT',
        `transport id ${address} was already used on this hub; an address names one process lifetime`,
      );
    }
    const endpoint: Endpoint = {
      address,
      stats: emptyTransportStats(),
      state: 'created',
      messageHandlers: new Set(),
      linkDownHandlers: new Set(),
    };
    this.endpoints.set(address, endpoint);
    return endpoint;
  }

  send(from: Endpoint, to: PeerAddress, bytes: Uint8Array): void {
    if (from.state !== 'open') {
      from.stats.droppedUnreachable++;
      return;
    }
    if (bytes.byteLength > this.mtuBytes) {
      from.stats.droppedOversized++;
      return;
    }
    const target = this.endpoints.get(to);
    if (!target || target.state === 'closed' || to === from.address) {
      from.stats.droppedUnreachable++;
      return;
    }
    from.stats.framesSent++;
    from.stats.bytesSent += bytes.byteLength;
    if (this.lossRate > 0 && this.random() < this.lossRate) {
      this.stats.droppedLoss++;
      return;
    }
    this.enqueue({ type: 'frame', from: from.address, to, bytes: copyFrameBytes(bytes) });
  }

  peersOf(endpoint: Endpoint): PeerAddress[] {
    if (endpoint.state !== 'open') return [];
    return this.live().filter((a) => a !== endpoint.address && this.reachable(endpoint.address, a));
  }

  shutDown(endpoint: Endpoint, reportLinkDown: boolean): void {
    if (endpoint.state === 'closed') return;
    const wasOpen = endpoint.state === 'open';
    endpoint.state = 'closed';
    if (wasOpen && reportLinkDown) {
      for (const other of this.live()) this.enqueue({ type: 'linkDown', from: endpoint.address, to: other });
    }
  }

  private reachable(a: PeerAddress, b: PeerAddress): boolean {
    if (!this.sideOf) return true;
    return (this.sideOf.get(a) ?? -1) === (this.sideOf.get(b) ?? -1);
  }

  private enqueue(event: Event): void {
    this.queue.push(event);
    this.eventsEnqueued++;
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      scheduleMacrotask(() => this.drain());
    }
  }

  /** Delivers everything queued before this macrotask; later sends wait for the next one. */
  private drain(): void {
    const batch = this.queue;
    this.queue = [];
    this.drainScheduled = false;
    for (const event of batch) {
      this.eventsProcessed++;
      const target = this.endpoints.get(event.to);
      if (!target || target.state !== 'open') {
        this.stats.droppedDead++;
        continue;
      }
      if (event.type === 'linkDown') {
        for (const handler of target.linkDownHandlers) callSafely(() => handler(event.from));
        continue;
      }
      if (!this.reachable(event.from, event.to)) {
        this.stats.droppedPartition++;
        continue;
      }
      if (event.bytes.byteLength > this.mtuBytes) {
        target.stats.droppedOversized++;
        continue;
      }
      target.stats.framesReceived++;
      target.stats.bytesReceived += event.bytes.byteLength;
      this.stats.delivered++;
      // Each handler owns its bytes, copied before any handler runs (one may hand its copy to a
      // protocol core, which gives it back to the frame pool: core frames.ts); a handler added
      // meanwhile gets none of this frame.
      const handlers = target.messageHandlers;
      if (handlers.size === 1) {
        for (const handler of handlers) {
          deliverTo(handler, event.from, event.bytes);
          break;
        }
      } else if (handlers.size > 1) {
        const list = [...handlers];
        const copies = list.map((_, i) => (i === 0 ? event.bytes : copyFrameBytes(event.bytes)));
        for (let i = 0; i < list.length; i++) deliverTo(list[i]!, event.from, copies[i]!);
      }
    }
    if (this.settleWaiters.length === 0) return;
    const ready = this.settleWaiters.filter((w) => w.untilEvent <= this.eventsProcessed);
    this.settleWaiters = this.settleWaiters.filter((w) => w.untilEvent > this.eventsProcessed);
    for (const waiter of ready) waiter.resolve();
  }
}

/** A throwing handler must not cost the other handlers their frames; its error is still surfaced. */
function callSafely(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    surface(error);
  }
}

function surface(error: unknown): void {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else queueMicrotask(() => {
    throw error;
  });
}

class MemoryTransport implements Transport {
  readonly orderedLinks = true;
  readonly mtuBytes: number;
  private readonly endpoint: Endpoint;

  constructor(private readonly hub: MemoryHub, id: PeerAddress | undefined) {
    this.endpoint = hub.register(id);
    this.mtuBytes = hub.mtuBytes;
  }

  get localId(): PeerAddress {
    return this.endpoint.address;
  }

  get stats(): TransportStats {
    return this.endpoint.stats;
  }

  async start(): Promise<void> {
    if (this.endpoint.state === 'closed') throw new SynodError('CLOSED', `transport ${this.localId} is closed`);
    this.endpoint.state = 'open';
  }

  send(to: PeerAddress, bytes: Uint8Array): void {
    this.hub.send(this.endpoint, to, bytes);
  }

  onMessage(handler: (from: PeerAddress, bytes: Uint8Array) => void): () => void {
    this.endpoint.messageHandlers.add(handler);
    return () => this.endpoint.messageHandlers.delete(handler);
  }

  onLinkDown(handler: (peer: PeerAddress) => void): () => void {
    this.endpoint.linkDownHandlers.add(handler);
    return () => this.endpoint.linkDownHandlers.delete(handler);
  }

  peers(): PeerAddress[] {
    return this.hub.peersOf(this.endpoint);
  }

  async close(): Promise<void> {
    this.hub.shutDown(this.endpoint, true);
  }
}

export function createHub(options: HubOptions = {}): Hub {
  return new MemoryHub(options);
}

/** A transport on an in-process hub. */
export function memory(init: MemoryInit): Transport {
  if (!(init?.hub instanceof MemoryHub)) throw new SynodError('INVALID_ARGUMENT', 'memory() needs a hub from createHub()');
  return new MemoryTransport(init.hub, init.id);
}

function deliverTo(handler: (from: PeerAddress, bytes: Uint8Array) => void, from: PeerAddress, bytes: Uint8Array): void {
  try {
    handler(from, bytes);
  } catch (error) {
    surface(error);
  }
}
