import {
  SynodError,
  messageId,
  traceRecord,
  type MemberConfig,
  type MemberId,
  type MemberStats,
  type Order,
  type Output,
  type Upcall,
  type View,
} from '@synod/core';
import { FrameAuthenticator, TAG_BYTES, type GroupKey } from './auth.js';
import type { Clock } from './clock.js';
import {
  ENVELOPE_VERSION,
  ENVELOPE_VERSION_AUTHENTICATED,
  ENVELOPE_VERSION_CONTROL,
  addressOf,
  encodeFrame,
  envelopeHeader,
  memberIdOf,
  releaseEncodedFrame,
} from './envelope.js';
import { LivenessGate } from './freshness.js';
import { scheduleMicrotask } from './microtask.js';
import { Monitor, type MonitorJob } from './monitor.js';
import { PendingSends } from './pending-sends.js';
import {
  NoReplyReason,
  decodeEncodedBody,
  decodePayload,
  encodeBody,
  encodeMessage,
  encodeNoReply,
  encodeReply,
  ownCopy,
  validateKind,
  type Body,
  type Data,
  type EncodedBody,
} from './payload.js';
import { ReplyGatherer, validateRepliesWanted, type RepliesWanted, type Reply } from './replies.js';
import type { TraceSink } from './trace.js';
import type { PeerAddress } from './transport.js';

/** What the runtime needs of a core Member (the real one, or a fake in unit tests). */
export interface MemberLike {
  readonly self: MemberId;
  readonly stats: MemberStats;
  join(contacts: readonly MemberId[], nowMs: number): void;
  send(order: Order, payload: Uint8Array, nowMs: number): number;
  leave(nowMs: number): void;
  receive(from: MemberId, bytes: Uint8Array, nowMs: number): void;
  linkDown(peer: MemberId, nowMs: number): void;
  tick(nowMs: number): void;
  provideState(xferId: string, bytes: Uint8Array, nowMs: number): void;
  takeOutput(): Output;
  /** Optional: fresh contacts for a member still joining or stuck in a minority. */
  updateContacts?(contacts: readonly MemberId[], nowMs: number): void;
  /** Optional: backpressure from the transport (new data waits while it is congested). */
  setCongested?(congested: boolean, nowMs: number): void;
}

export type MemberFactory = (config: MemberConfig) => MemberLike;

/** The app's state, handed to joiners by state transfer (Isis XFER). */
export interface StateHandler {
  /** A snapshot at this exact point of the delivery sequence. */
  save(): Uint8Array | Promise<Uint8Array>;
  /** Replace the app state; runs before any later upcall of the group. */
  load(bytes: Uint8Array): void | Promise<void>;
}

export type TimingOptions = Pick<
  MemberConfig,
  | 'heartbeatMs'
  | 'suspectAfterMs'
  | 'retransmitMs'
  | 'discoveryMs'
  | 'flushTimeoutMs'
  | 'flowWindowBytes'
  | 'maxQueuedBytes'
  | 'maxMessageBytes'
>;

export interface JoinOptions extends TimingOptions {
  readonly state?: StateHandler;
  /** Transport addresses of peers that may already be in the group. Default: transport.peers(). */
  readonly contacts?: readonly PeerAddress[];
  /** How long leave() waits for the group to acknowledge before it lets go anyway. Default 5000. */
  readonly leaveTimeoutMs?: number;
  /**
   * The group's secret: only peers that hold it can join, and frames without its tag are dropped
   * and counted (stats.droppedUnauthenticated), never delivered. Give it the same value at every
   * member; a high-entropy secret (say 32 random bytes), not a password: a captured frame lets an
   * eavesdropper test guesses offline. It authenticates membership, not individual members, and
   * does not encrypt. Senders outside the view prove they are live before the core hears them (a
   * round trip), so recorded frames replayed later cannot readmit a departed member.
   * Default: none (an open group, which keyed peers cannot join either).
   */
  readonly key?: GroupKey;
  /**
   * Runs synchronously with the group before the join starts, so that handlers, listeners and
   * named state parts (tools built on the group) are in place before the first upcall: the first
   * view, the state transfer, the first delivery. A throw fails the join.
   */
  readonly setup?: (group: Group) => void;
}

export interface ViewChange extends View {
  readonly joined: readonly MemberId[];
  readonly left: readonly MemberId[];
}

export interface Message<T = unknown> {
  readonly sender: MemberId;
  readonly kind: string;
  /** What the sender passed: a Uint8Array, a string, a JSON value, or undefined. */
  readonly data: T;
  /** The body as it travelled (UTF-8 / JSON text for strings and values). */
  readonly bytes: Uint8Array;
  readonly order: Order;
  readonly viewId: number;
  /** Unique across the group. */
  readonly id: string;
  /** True when the sender gathers replies: answer with reply() (once). */
  readonly wantsReply: boolean;
  reply(value?: Data): void;
  /** Let the next delivery's handler start while this one carries on (leave the Isis monitor). */
  leaveMonitor(): void;
}

export type Handler<T = unknown> = (message: Message<T>) => void | Promise<void>;

export interface SendOptions {
  /** Gather replies from the handlers of the members (self included) that deliver the message. */
  readonly replies?: RepliesWanted;
  /** With replies: reject with SynodError TIMEOUT after this long. */
  readonly timeoutMs?: number;
  /**
   * With replies: resolve as soon as this returns true for the replies gathered so far (called after
   * each reply), or once `replies` are in or no more can come, whichever is first. A throw rejects.
   */
  readonly until?: (replies: readonly Reply[]) => boolean;
}

export interface Sent {
  /** The group-wide message id. */
  readonly id: string;
}

export interface GroupEvents {
  view: (view: ViewChange) => void;
  block: () => void;
  minority: (view: View) => void;
  /** The partition healed in time: this member is back in its view's majority and delivers again. */
  majority: (view: View) => void;
  /** The group went on without this member; it rejoins on its own under a new member id ('rejoined'). */
  excluded: (event: { readonly memberId: MemberId; readonly reason: string }) => void;
  rejoined: (event: { readonly memberId: MemberId; readonly previousMemberId: MemberId; readonly view: View }) => void;
  /**
   * This member is out of the group for good: leave() completed or timed out, the peer closed, or
   * the join failed. Emitted once, as the group's last event, before leave() and the peer's close()
   * resolve; after the upcalls delivered before it, unless the group was shut down first (the peer
   * closed without leaving, or a handler held the group past leaveTimeoutMs). Unlike 'excluded',
   * nothing follows: tools end their waits here. `reason` is what the group's pending sends and
   * requests were rejected with (NOT_JOINED after a leave, CLOSED when the peer closed without one).
   */
  left: (event: { readonly memberId: MemberId; readonly reason: SynodError }) => void;
  /** Deliveries of a kind with no handler. A request a listener does not reply to synchronously gets a 'no handler' answer. */
  message: (message: Message) => void;
  /** A handler, listener or state callback threw. Without a listener the error is rethrown asynchronously. */
  error: (error: unknown) => void;
}
export type GroupEvent = keyof GroupEvents;
const GROUP_EVENTS: readonly GroupEvent[] = ['view', 'block', 'minority', 'majority', 'excluded', 'rejoined', 'left', 'message', 'error'];

export interface GroupStats extends MemberStats {
  /** Messages whose peer-layer payload was malformed. */
  droppedMalformedPayload: number;
  /** Deliveries with neither a handler nor a 'message' listener. */
  unhandled: number;
  /**
   * Frames dropped before the core for want of the group's key: in a keyed group, frames without a
   * valid tag (no key, another key, altered in transit); in an open group, frames of a keyed one.
   */
  droppedUnauthenticated: number;
  /**
   * Keyed groups: authentic frames from a sender outside the view that did not prove it is live
   * (a replay of a departed member's frames, or a challenge unanswered in time), dropped before the core.
   */
  droppedUnverified: number;
}

type Cast = {
  (kind: string, data?: Data): Promise<Sent>;
  (kind: string, data: Data, options: SendOptions & { readonly replies?: undefined }): Promise<Sent>;
  <R = unknown>(kind: string, data: Data, options: SendOptions & { readonly replies: RepliesWanted }): Promise<Reply<R>[]>;
};

export interface Group {
  readonly name: string;
  /** This member's id in the group; changes when the peer rejoins after an exclusion. */
  readonly memberId: MemberId;
  /** The last view the app has seen (the one its upcalls belong to). */
  readonly view: View | undefined;
  readonly stats: GroupStats;
  /** The peer's clock: tools built on the group take time and timers from it, never from globals. */
  readonly clock: Clock;
  on<E extends GroupEvent>(event: E, listener: GroupEvents[E]): () => void;
  off<E extends GroupEvent>(event: E, listener: GroupEvents[E]): void;
  /** One handler per kind; returns a function that removes it. */
  handle<T = unknown>(kind: string, handler: Handler<T>): () => void;
  /** FIFO order per sender. */
  readonly fbcast: Cast;
  /** Causal order. */
  readonly cbcast: Cast;
  /** Total order. */
  readonly abcast: Cast;
  /** Total order, delivered only once every member holds it (dynamic uniformity). */
  readonly safe: Cast;
  /**
   * Adds a named part to the group's state transfer (Isis: one transfer domain per tool). A joiner
   * receives every part saved at the same point of the delivery sequence; register parts in
   * JoinOptions.setup so they exist before the transfer. The join option `state` is the part ''.
   * Returns a function that removes the part.
   */
  statePart(name: string, handler: StateHandler): () => void;
  /** Leave the group; resolves once the group has let this member go and earlier upcalls ran. */
  leave(): Promise<void>;
}

/** What a group needs from its peer. */
export interface GroupHost {
  readonly address: PeerAddress;
  readonly clock: Clock;
  readonly random: () => number;
  readonly mtuBytes: number;
  readonly trace: TraceSink | undefined;
  readonly memberFactory: MemberFactory;
  nextIncarnation(): number;
  contacts(): PeerAddress[];
  transmit(to: readonly MemberId[], frame: Uint8Array): void;
  /** The transport holds frames it could not pass on yet (its optional backpressure). */
  congested(): boolean;
  /** Defaults the transport suggests for its buffers (the app's join options win). */
  readonly transportHints: { readonly flowWindowBytes?: number; readonly maxBurstBytes?: number };
  forget(group: GroupRuntime): void;
}

type Status = 'joining' | 'joined' | 'rejoining' | 'leaving' | 'left';

/** One incarnation: one core Member and what belongs to it alone. */
export interface Incarnation {
  readonly member: MemberLike;
  readonly header: Uint8Array;
  /** Keyed groups: holds frames from outside the view until their sender proves it is live (freshness.ts). */
  readonly gate: LivenessGate | undefined;
  readonly pendingSends: PendingSends<Sent>;
  readonly gatherer: ReplyGatherer;
  /** The last view the core installed (ahead of the app's, which trails through the monitor). */
  protocolView: View | undefined;
  sawFirstView: boolean;
  stateLoaded: boolean;
  ready: boolean;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The runtime of one group at one peer: binds a core Member to the transport (through the peer)
 * and a real clock, and presents the public Group API.
 */
export class GroupRuntime implements Group {
  private status: Status = 'joining';
  private current: Incarnation;
  private previousMemberId: MemberId | undefined;
  private readonly monitor: Monitor;
  private readonly handlers = new Map<string, Handler<any>>();
  private readonly stateParts = new Map<string, StateHandler>();
  private readonly listeners = new Map<GroupEvent, Set<(...args: any[]) => void>>();
  private appView: View | undefined;
  private timer: unknown;
  private inMinority = false;
  private timerAtMs: number | undefined;
  private drainScheduled = false;
  private nextRequestNo = 1;
  private leaveTimer: unknown;
  private readonly counters = { droppedMalformedPayload: 0, unhandled: 0, droppedUnauthenticated: 0, droppedUnverified: 0 };
  /** Signs and checks this group's frames when it has a key. */
  private readonly authenticator: FrameAuthenticator | undefined;
  /** The member id last seen from each address in this group: better join contacts than a guess. */
  private readonly knownMembers = new Map<PeerAddress, MemberId>();
  private readonly joined: { promise: Promise<Group>; resolve: (group: Group) => void; reject: (error: unknown) => void };
  private left: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Why the group ended, from the moment its status became 'left' (a later shutDown keeps it). */
  private leftReason: SynodError | undefined;
  private leftEmitted = false;

  readonly fbcast: Cast = ((kind: string, data?: Data, options?: SendOptions) => this.cast('fifo', kind, data, options)) as Cast;
  readonly cbcast: Cast = ((kind: string, data?: Data, options?: SendOptions) => this.cast('causal', kind, data, options)) as Cast;
  readonly abcast: Cast = ((kind: string, data?: Data, options?: SendOptions) => this.cast('total', kind, data, options)) as Cast;
  readonly safe: Cast = ((kind: string, data?: Data, options?: SendOptions) => this.cast('safe', kind, data, options)) as Cast;

  constructor(
    private readonly host: GroupHost,
    readonly name: string,
    private readonly options: JoinOptions,
  ) {
    let resolve!: (group: Group) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<Group>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // the peer awaits it; never an unhandled rejection here
    this.joined = { promise, resolve, reject };
    this.authenticator = options.key === undefined ? undefined : FrameAuthenticator.forGroup(options.key, name);
    this.monitor = new Monitor((error) => this.emitError(error));
    this.current = this.startIncarnation(options.contacts ?? host.contacts());
  }

  /** Resolves once the first view containing this member is installed and its state loaded. */
  get ready(): Promise<Group> {
    return this.joined.promise;
  }

  statePart(name: string, handler: StateHandler): () => void {
    if (typeof name !== 'string' || name.length === 0 || encoder.encode(name).length > 0xffff) {
      throw new SynodError('INVALID_ARGUMENT', 'a state part needs a name of 1..65535 UTF-8 bytes');
    }
    if (!handler || typeof handler.save !== 'function' || typeof handler.load !== 'function') {
      throw new SynodError('INVALID_ARGUMENT', 'a state part must have save() and load(bytes)');
    }
    if (this.stateParts.has(name)) throw new SynodError('INVALID_ARGUMENT', `state part ${name} is already registered`);
    this.stateParts.set(name, handler);
    return () => {
      if (this.stateParts.get(name) === handler) this.stateParts.delete(name);
    };
  }

  /** Every part's snapshot, taken one after the other in the monitor (nothing delivered in between). */
  private async saveParts(): Promise<Uint8Array> {
    const parts: [string, Uint8Array][] = [];
    const all: [string, StateHandler | undefined][] = [['', this.options.state], ...this.stateParts];
    for (const [name, handler] of all) {
      if (!handler) continue;
      const bytes = await handler.save();
      if (!(bytes instanceof Uint8Array)) {
        throw new SynodError('INVALID_ARGUMENT', `state${name ? ` part ${name}` : ''}.save() must return a Uint8Array`);
      }
      parts.push([name, bytes]);
    }
    return encodeStateParts(parts);
  }

  private async loadParts(bytes: Uint8Array): Promise<void> {
    const parts = decodeStateParts(bytes);
    if (!parts) throw new SynodError('INVALID_ARGUMENT', 'the transferred state is malformed');
    for (const [name, part] of parts) {
      const handler = name === '' ? this.options.state : this.stateParts.get(name);
      // A part nobody here registered (a tool this member does not run) is ignored.
      if (handler) await handler.load(part);
    }
  }

  get clock(): Clock {
    return this.host.clock;
  }

  get memberId(): MemberId {
    return this.current.member.self;
  }

  get view(): View | undefined {
    return this.appView;
  }

  get stats(): GroupStats {
    return { ...this.current.member.stats, ...this.counters };
  }

  get accepting(): boolean {
    return this.status !== 'left';
  }

  // ---------------------------------------------------------------- public API

  on<E extends GroupEvent>(event: E, listener: GroupEvents[E]): () => void {
    if (!GROUP_EVENTS.includes(event)) throw new SynodError('INVALID_ARGUMENT', `unknown group event '${String(event)}'`);
    if (typeof listener !== 'function') throw new SynodError('INVALID_ARGUMENT', 'a listener must be a function');
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<E extends GroupEvent>(event: E, listener: GroupEvents[E]): void {
    this.listeners.get(event)?.delete(listener);
  }

  handle<T = unknown>(kind: string, handler: Handler<T>): () => void {
    validateKind(kind);
    if (typeof handler !== 'function') throw new SynodError('INVALID_ARGUMENT', 'a handler must be a function');
    if (this.handlers.has(kind)) throw new SynodError('INVALID_ARGUMENT', `a handler for '${kind}' is already registered`);
    this.handlers.set(kind, handler);
    return () => {
      if (this.handlers.get(kind) === handler) this.handlers.delete(kind);
    };
  }

  leave(): Promise<void> {
    if (this.left) return this.left.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((res) => (resolve = res));
    this.left = { promise, resolve };
    if (this.status === 'left') {
      resolve();
      return promise;
    }
    this.status = 'leaving';
    const incarnation = this.current;
    this.input(() => incarnation.member.leave(this.host.clock.now()));
    this.leaveTimer = this.host.clock.setTimer(() => {
      this.leaveTimer = undefined;
      this.shutDown(new SynodError('NOT_JOINED', `left group ${this.name}`));
    }, this.options.leaveTimeoutMs ?? 5000);
    return promise;
  }

  // ---------------------------------------------------------------- from the peer

  /**
   * Whether a frame for this group may reach the core: with a key, only authenticated frames (see
   * envelope.ts) whose tag is valid; without, only plain ones. Counts what it refuses.
   */
  admits(frame: Uint8Array, authenticated: boolean): boolean {
    const admitted = this.authenticator ? authenticated && this.authenticator.verify(frame) : !authenticated;
    if (!admitted) this.counters.droppedUnauthenticated++;
    return admitted;
  }

  receive(sender: MemberId, payload: Uint8Array): void {
    const incarnation = this.current;
    if (incarnation.gate && !incarnation.gate.admit(sender, payload)) return;
    this.toCore(incarnation, sender, payload);
  }

  /** A keyed group's control frame (already authenticated). */
  control(sender: MemberId, payload: Uint8Array): void {
    this.current.gate?.control(sender, payload);
  }

  private toCore(incarnation: Incarnation, sender: MemberId, payload: Uint8Array): void {
    if (this.current !== incarnation) return;
    const address = addressOf(sender);
    if (address !== undefined && this.knownMembers.get(address) !== sender) this.knownMembers.set(address, sender);
    // input(), without a closure per frame.
    if (this.status === 'left') return;
    try {
      incarnation.member.receive(sender, payload, this.host.clock.now());
    } catch (error) {
      this.emitError(error);
    }
    this.scheduleDrain();
  }

  /** The transport drained its queues: data held back for it can go. */
  transportDrained(): void {
    if (this.status !== 'left') this.scheduleDrain();
  }

  linkDown(address: PeerAddress): void {
    const incarnation = this.current;
    const suspects = new Set<MemberId>();
    for (const member of incarnation.protocolView?.members ?? []) if (addressOf(member) === address) suspects.add(member);
    const known = this.knownMembers.get(address);
    if (known !== undefined) suspects.add(known);
    suspects.delete(incarnation.member.self);
    if (suspects.size === 0) return;
    this.input(() => {
      for (const member of suspects) incarnation.member.linkDown(member, this.host.clock.now());
    });
  }

  /** Stop at once without telling the group (peer closed, or leave timed out). */
  shutDown(reason: SynodError): void {
    if (this.status === 'left' && !this.timer && !this.leaveTimer) return;
    this.status = 'left';
    const leftReason = (this.leftReason ??= reason);
    this.clearTimer();
    if (this.leaveTimer !== undefined) this.host.clock.clearTimer(this.leaveTimer);
    this.leaveTimer = undefined;
    this.failIncarnation(this.current, reason);
    this.joined.reject(reason);
    this.host.forget(this);
    this.monitor.close();
    // At once: the monitor is closed (a handler may still be running), and the tools' waits must
    // end before leave() or the peer's close() resolves.
    this.emitLeft(leftReason);
    this.left?.resolve();
  }

  // ---------------------------------------------------------------- the clock shell

  private startIncarnation(contactAddresses: readonly PeerAddress[]): Incarnation {
    const self = memberIdOf(this.host.address, this.host.nextIncarnation());
    const authenticator = this.authenticator;
    const header = envelopeHeader(this.name, self, authenticator ? ENVELOPE_VERSION_AUTHENTICATED : ENVELOPE_VERSION);
    const { state: _state, contacts: _contacts, leaveTimeoutMs: _leaveTimeoutMs, key: _key, ...timing } = this.options;
    const member = this.host.memberFactory({
      ...this.host.transportHints,
      ...timing,
      self,
      group: this.name,
      random: this.host.random,
      mtuBytes: this.host.mtuBytes - header.length - (this.authenticator ? TAG_BYTES : 0),
      // Room for the envelope before each frame, so it is not copied to get one (not with a tag).
      frameHeadroomBytes: this.authenticator || header.length > 255 ? 0 : header.length,
    });
    const incarnation: Incarnation = {
      member,
      header,
      gate: authenticator && this.livenessGate(self, authenticator, () => incarnation),
      pendingSends: new PendingSends<Sent>(),
      gatherer: new ReplyGatherer(),
      protocolView: undefined,
      sawFirstView: false,
      stateLoaded: false,
      ready: false,
    };
    const contacts = this.contactIds(contactAddresses);
    this.current = incarnation;
    this.inMinority = false;
    this.input(() => member.join(contacts, this.host.clock.now()));
    return incarnation;
  }

  private livenessGate(self: MemberId, authenticator: FrameAuthenticator, incarnation: () => Incarnation): LivenessGate {
    const controlHeader = envelopeHeader(this.name, self, ENVELOPE_VERSION_CONTROL);
    let members: { view: View | undefined; ids: Set<MemberId> } = { view: undefined, ids: new Set() };
    return new LivenessGate({
      self,
      now: () => this.host.clock.now(),
      random: this.host.random,
      isMember: (sender) => {
        const view = incarnation().protocolView;
        if (members.view !== view) members = { view, ids: new Set(view?.members) };
        return members.ids.has(sender);
      },
      sendControl: (to, control) => {
        const frame = encodeFrame(controlHeader, control, authenticator);
        this.host.transmit([to], frame);
        releaseEncodedFrame(frame, control);
      },
      release: (sender, payload) => this.toCore(incarnation(), sender, payload),
      dropped: (count) => (this.counters.droppedUnverified += count),
    });
  }

  private contactIds(addresses: readonly PeerAddress[]): MemberId[] {
    return [...new Set(addresses)]
      .filter((address) => address !== this.host.address)
      // Routing needs only the address part; the incarnation is the last one seen, if any.
      .map((address) => this.knownMembers.get(address) ?? memberIdOf(address, 0));
  }

  /** Feed an input to the core; its output is drained in a microtask, after the rest of the batch. */
  private input(step: () => void): void {
    if (this.status === 'left') return;
    try {
      step();
    } catch (error) {
      // The core does not throw on network input; anything thrown here is a bug in Synod.
      this.emitError(error);
    }
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    scheduleMicrotask(this.drainTask);
  }

  /** drain(), made once: it is scheduled about once per message. */
  private readonly drainTask = (): void => this.drain();

  private drain(): void {
    this.drainScheduled = false;
    if (this.status === 'left') return;
    const incarnation = this.current;
    let output: Output;
    try {
      incarnation.member.setCongested?.(this.host.congested(), this.host.clock.now());
      output = incarnation.member.takeOutput();
    } catch (error) {
      this.emitError(error);
      return;
    }
    try {
      for (const send of output.sends) {
        const frame = encodeFrame(incarnation.header, send.bytes, this.authenticator, send.headroomBytes);
        this.host.transmit(send.to, frame);
        releaseEncodedFrame(frame, send.bytes);
      }
      for (const upcall of output.upcalls) this.upcall(incarnation, upcall);
    } catch (error) {
      // A bug in Synod: surfaced as an 'error' event or an uncaught error (drain runs as a promise
      // reaction, where a throw would only be an unhandled rejection).
      this.emitError(error);
      return;
    }
    if (!this.accepting) return; // an upcall ended the group
    if (this.current !== incarnation) this.scheduleDrain();
    else this.schedule(output.wakeAtMs);
  }

  /** One timer per member, at the core's wakeAtMs: moved, never multiplied. */
  private schedule(wakeAtMs: number | undefined): void {
    if (wakeAtMs === undefined) {
      this.clearTimer();
      return;
    }
    if (this.timer !== undefined && this.timerAtMs === wakeAtMs) return;
    this.clearTimer();
    this.timerAtMs = wakeAtMs;
    this.timer = this.host.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAtMs = undefined;
      const incarnation = this.current;
      this.input(() => {
        const now = this.host.clock.now();
        // While looking for the group, the transport's live peers are the contacts to ask.
        if ((!incarnation.ready || this.inMinority) && incarnation.member.updateContacts) {
          incarnation.member.updateContacts(this.contactIds([...(this.options.contacts ?? []), ...this.host.contacts()]), now);
        }
        incarnation.member.tick(now);
        incarnation.gate?.sweep();
      });
    }, Math.max(0, wakeAtMs - this.host.clock.now()));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.host.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAtMs = undefined;
  }

  // ---------------------------------------------------------------- upcalls, in the core's order

  private upcall(incarnation: Incarnation, upcall: Upcall): void {
    if (this.host.trace) {
      const record = traceRecord(this.name, incarnation.member.self, upcall);
      if (record) this.host.trace.write(JSON.stringify(record));
    }
    switch (upcall.type) {
      case 'view': {
        this.inMinority = false;
        incarnation.protocolView = upcall.view;
        incarnation.gate?.viewInstalled(upcall.left);
        incarnation.gatherer.view(upcall.view.members);
        const change: ViewChange = { ...upcall.view, joined: upcall.joined, left: upcall.left };
        this.monitor.enqueue(() => {
          if (this.current !== incarnation) return;
          this.appView = upcall.view;
          if (!incarnation.sawFirstView) {
            incarnation.sawFirstView = true;
            // A founder has no state to load; a joiner of an existing group gets loadState.
            if (upcall.view.members.length === 1) incarnation.stateLoaded = true;
          }
          this.emit('view', change);
          return this.checkReady(incarnation);
        });
        return;
      }
      case 'deliver':
        this.deliver(incarnation, upcall);
        return;
      case 'saveState':
        this.monitor.enqueue(async () => {
          const bytes = await this.saveParts();
          if (this.current !== incarnation) return;
          this.input(() => incarnation.member.provideState(upcall.xferId, bytes, this.host.clock.now()));
        });
        return;
      case 'loadState':
        this.monitor.enqueue(async () => {
          if (this.current !== incarnation) return;
          try {
            await this.loadParts(upcall.state);
          } catch (error) {
            if (this.status === 'joining') {
              this.joined.reject(error);
              void this.leave();
              return;
            }
            throw error;
          }
          incarnation.stateLoaded = true;
          return this.checkReady(incarnation);
        });
        return;
      case 'block':
        this.monitor.enqueue(() => this.emit('block'));
        return;
      case 'sent': {
        incarnation.pendingSends.resolve(upcall.localId, { id: upcall.id });
        return;
      }
      case 'minority':
        this.inMinority = true;
        this.monitor.enqueue(() => this.emit('minority', upcall.view));
        return;
      case 'majority':
        this.inMinority = false;
        this.monitor.enqueue(() => this.emit('majority', upcall.view));
        return;
      case 'excluded':
        this.excluded(incarnation, upcall.reason);
        return;
      case 'left':
        this.onLeft(incarnation);
        return;
    }
  }

  private deliver(incarnation: Incarnation, upcall: Extract<Upcall, { type: 'deliver' }>): void {
    const self = incarnation.member.self;
    // The core's payload of another member's message is a view into a frame it keeps for
    // retransmission: the app gets its own copy. Our own payload was encoded for this send alone.
    const payload = decodePayload(upcall.payload, upcall.sender !== self);
    if (!payload) {
      this.counters.droppedMalformedPayload++;
      return;
    }
    if (payload.type === 'reply' || payload.type === 'noReply') {
      // Replies travel to the whole group; only the requester listens.
      if (payload.requester !== self) return;
      if (payload.type === 'reply') {
        const body = upcall.sender === self ? payload.body : ownCopy(payload.body);
        incarnation.gatherer.reply(payload.requestNo, { sender: upcall.sender, data: body.data, bytes: body.bytes });
      } else {
        incarnation.gatherer.noReply(payload.requestNo, upcall.sender);
      }
      return;
    }
    if (upcall.sender === self && payload.requestNo !== undefined) {
      incarnation.gatherer.delivered(payload.requestNo, incarnation.protocolView?.members ?? [self]);
    }
    this.monitor.enqueue(new Delivery(this, incarnation, upcall, payload.kind, payload.requestNo, payload.body));
  }

  /** Runs a delivery's handler in the monitor; answers 'no handler' or 'declined' to a request left without a reply. */
  runDelivery(delivery: Delivery): void | Promise<void> {
    const handler = this.handlers.get(delivery.kind);
    if (!handler) {
      const listeners = this.listeners.get('message');
      if (!listeners || listeners.size === 0) this.counters.unhandled++;
      else this.emit('message', delivery);
      delivery.noReply(NoReplyReason.NoHandler);
      return;
    }
    let result: void | Promise<void>;
    try {
      result = handler(delivery);
    } catch (error) {
      delivery.noReply(NoReplyReason.Declined);
      throw error;
    }
    if (!result || typeof (result as Promise<void>).then !== 'function') {
      delivery.noReply(NoReplyReason.Declined);
      return;
    }
    return Promise.resolve(result).finally(() => delivery.noReply(NoReplyReason.Declined));
  }

  /** Sends the answer to a request (or, for our own request, hands it to the gatherer). */
  answer(incarnation: Incarnation, requester: MemberId, requestNo: number, answer: EncodedBody | NoReplyReason): void {
    if (this.current !== incarnation || this.status === 'left') return; // nobody waits any more
    const self = incarnation.member.self;
    if (requester === self) {
      if (typeof answer === 'number') {
        incarnation.gatherer.noReply(requestNo, self);
      } else {
        const decoded = decodeEncodedBody(answer);
        incarnation.gatherer.reply(requestNo, { sender: self, data: decoded.data, bytes: decoded.bytes });
      }
      return;
    }
    const bytes =
      typeof answer === 'number' ? encodeNoReply(requester, requestNo, answer) : encodeReply(requester, requestNo, answer);
    incarnation.member.send('fifo', bytes, this.host.clock.now());
    this.scheduleDrain();
  }

  /** Resolve join (or report a rejoin) once the incarnation's first view and state are in. */
  private checkReady(incarnation: Incarnation): Promise<void> | void {
    if (incarnation.ready || !incarnation.sawFirstView || !incarnation.stateLoaded) return;
    incarnation.ready = true;
    if (this.status === 'joining' || this.status === 'rejoining') {
      const first = this.status === 'joining';
      this.status = 'joined';
      if (first) {
        this.joined.resolve(this);
        // Let the code after `await peer.join()` register its handlers before the next delivery.
        return new Promise((resolve) => this.host.clock.setTimer(resolve, 0));
      }
      this.emit('rejoined', { memberId: incarnation.member.self, previousMemberId: this.previousMemberId!, view: this.appView! });
    }
  }

  private excluded(incarnation: Incarnation, reason: string): void {
    if (this.current !== incarnation) return;
    const memberId = incarnation.member.self;
    this.failIncarnation(incarnation, new SynodError('EXCLUDED', `${memberId} was excluded from ${this.name}: ${reason}`));
    if (this.status === 'leaving') {
      this.onLeft(incarnation);
      return;
    }
    this.monitor.enqueue(() => this.emit('excluded', { memberId, reason }));
    this.previousMemberId = memberId;
    if (this.status !== 'joining') this.status = 'rejoining';
    this.clearTimer();
    this.startIncarnation([...(this.options.contacts ?? []), ...this.host.contacts()]);
  }

  private onLeft(incarnation: Incarnation): void {
    if (this.current !== incarnation || this.status === 'left') return;
    this.status = 'left';
    this.clearTimer();
    const reason = new SynodError('NOT_JOINED', `left group ${this.name}`);
    this.leftReason = reason;
    this.failIncarnation(incarnation, reason);
    this.joined.reject(reason);
    this.host.forget(this);
    // Emit 'left' and resolve after the upcalls before it have run; a handler that never returns
    // delays them by leaveTimeoutMs at most (the leave timer, still running, shuts the group down).
    this.monitor.enqueue(() => {
      if (this.leaveTimer !== undefined) this.host.clock.clearTimer(this.leaveTimer);
      this.leaveTimer = undefined;
      this.emitLeft(reason);
      this.left?.resolve();
      this.monitor.close();
    });
  }

  /** Once per group, whichever way it ended (onLeft's monitor task, or shutDown when that never ran). */
  private emitLeft(reason: SynodError): void {
    if (this.leftEmitted) return;
    this.leftEmitted = true;
    this.emit('left', { memberId: this.current.member.self, reason });
  }

  private failIncarnation(incarnation: Incarnation, error: SynodError): void {
    incarnation.pendingSends.rejectAll(error);
    incarnation.gatherer.failAll(error);
  }

  // ---------------------------------------------------------------- sending

  private cast(order: Order, kind: string, data: Data, options: SendOptions | undefined): Promise<Sent | Reply[]> {
    try {
      return this.castOrThrow(order, kind, data, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private castOrThrow(order: Order, kind: string, data: Data, options: SendOptions | undefined): Promise<Sent | Reply[]> {
    if (this.status === 'left') throw new SynodError('NOT_JOINED', `not a member of ${this.name} (left)`);
    validateKind(kind);
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new SynodError('INVALID_ARGUMENT', 'options must be an object');
    }
    const wanted = options?.replies;
    if (wanted !== undefined) validateRepliesWanted(wanted);
    const until = options?.until;
    if (until !== undefined && (wanted === undefined || typeof until !== 'function')) {
      throw new SynodError('INVALID_ARGUMENT', 'until must be a function, and applies to requests with replies');
    }
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs !== undefined) {
      if (wanted === undefined) throw new SynodError('INVALID_ARGUMENT', 'timeoutMs applies to requests with replies');
      if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
        throw new SynodError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${String(timeoutMs)}`);
      }
    }
    const body = encodeBody(data);
    const requestNo = wanted === undefined ? undefined : this.nextRequestNo++;
    const incarnation = this.current;
    const localId = incarnation.member.send(order, encodeMessage(kind, requestNo, body), this.host.clock.now());
    this.scheduleDrain();
    const sent = incarnation.pendingSends.add(localId);
    if (requestNo === undefined || wanted === undefined) return sent;

    const replies = new Promise<Reply[]>((resolve, reject) => incarnation.gatherer.open(requestNo, wanted, resolve, reject, until));
    sent.catch((error: unknown) => incarnation.gatherer.fail(requestNo, error));
    if (timeoutMs === undefined) return replies;
    const timer = this.host.clock.setTimer(
      () =>
        incarnation.gatherer.fail(
          requestNo,
          new SynodError('TIMEOUT', `no ${String(wanted)} replies to '${kind}' within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    return replies.finally(() => this.host.clock.clearTimer(timer));
  }

  // ---------------------------------------------------------------- events

  private emit<E extends GroupEvent>(event: E, ...args: Parameters<GroupEvents[E]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        if (event === 'error') rethrowLater(error);
        else this.emitError(error);
      }
    }
  }

  private emitError(error: unknown): void {
    const set = this.listeners.get('error');
    if (!set || set.size === 0) rethrowLater(error);
    else this.emit('error', error);
  }
}

/** One delivery as the app sees it; its reply state lives here, not in closures made per message. */
class Delivery implements Message, MonitorJob {
  readonly sender: MemberId;
  readonly data: unknown;
  readonly bytes: Uint8Array;
  readonly order: Order;
  readonly viewId: number;
  readonly wantsReply: boolean;
  private replied = false;
  /**
   * Its id is made when read, from these (core upcalls.ts). Not the upcall itself: its payload is
   * a view into a received frame, whose pooled slab a kept message would pin.
   */
  private readonly seqno: number;
  private readonly part: number;
  private madeId: string | undefined;
  private monitor: Monitor | undefined;
  private token = 0;

  constructor(
    private readonly runtime: GroupRuntime,
    private readonly incarnation: Incarnation,
    upcall: Extract<Upcall, { type: 'deliver' }>,
    readonly kind: string,
    private readonly requestNo: number | undefined,
    body: Body,
  ) {
    this.sender = upcall.sender;
    this.data = body.data;
    this.bytes = body.bytes;
    this.order = upcall.order;
    this.viewId = upcall.viewId;
    this.seqno = upcall.seqno;
    this.part = upcall.part;
    this.wantsReply = requestNo !== undefined;
  }

  get id(): string {
    return (this.madeId ??= messageId(this.sender, this.viewId, this.seqno, this.part));
  }

  run(monitor: Monitor, token: number): void | Promise<void> {
    this.monitor = monitor;
    this.token = token;
    return this.runtime.runDelivery(this);
  }

  reply(value?: Data): void {
    if (this.requestNo === undefined) throw new SynodError('INVALID_ARGUMENT', `the sender of '${this.kind}' asked for no replies`);
    if (this.replied) throw new SynodError('INVALID_ARGUMENT', `already replied to '${this.kind}' ${this.id}`);
    const body = encodeBody(value);
    this.replied = true;
    this.runtime.answer(this.incarnation, this.sender, this.requestNo, body);
  }

  leaveMonitor(): void {
    this.monitor?.release(this.token);
  }

  /** Answers a request nobody replied to; best effort (a requester's timeout or view change covers a failure). */
  noReply(reason: NoReplyReason): void {
    if (this.requestNo === undefined || this.replied) return;
    this.replied = true;
    try {
      this.runtime.answer(this.incarnation, this.sender, this.requestNo, reason);
    } catch {
      // Best effort: if it cannot be sent, the requester's timeout or view change covers it.
    }
  }
}

/** An error nobody listens for is not swallowed: it surfaces as an uncaught error, like EventEmitter's. */
function rethrowLater(error: unknown): void {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else
    queueMicrotask(() => {
      throw error;
    });
}

/** The state transfer's bytes: u16 part count, then per part u16 name length, name, u32 length, bytes. */
export function encodeStateParts(parts: readonly [string, Uint8Array][]): Uint8Array {
  const names = parts.map(([name]) => encoder.encode(name));
  let size = 2;
  parts.forEach(([, bytes], i) => (size += 2 + names[i]!.length + 4 + bytes.length));
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint16(0, parts.length);
  let at = 2;
  parts.forEach(([, bytes], i) => {
    const name = names[i]!;
    view.setUint16(at, name.length);
    out.set(name, at + 2);
    at += 2 + name.length;
    view.setUint32(at, bytes.length);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  });
  return out;
}

/** Undefined when malformed (the provider is a member, but a bug must not become a crash). */
function decodeStateParts(bytes: Uint8Array): [string, Uint8Array][] | undefined {
  if (bytes.length === 0) return []; // a founder's provider, or a member with nothing to give
  if (bytes.length < 2) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint16(0);
  const parts: [string, Uint8Array][] = [];
  let at = 2;
  try {
    for (let i = 0; i < count; i++) {
      if (at + 2 > bytes.length) return undefined;
      const nameLength = view.getUint16(at);
      if (at + 2 + nameLength + 4 > bytes.length) return undefined;
      const name = strictDecoder.decode(bytes.subarray(at + 2, at + 2 + nameLength));
      at += 2 + nameLength;
      const length = view.getUint32(at);
      if (at + 4 + length > bytes.length) return undefined;
      parts.push([name, bytes.subarray(at + 4, at + 4 + length)]);
      at += 4 + length;
    }
  } catch {
    return undefined; // bad UTF-8
  }
  return at === bytes.length ? parts : undefined;
}
