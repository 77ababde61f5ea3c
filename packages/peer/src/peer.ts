import { Member, SynodError, declineDiscover, type MemberId } from '@synod/core';
import { openTraceSink } from '#trace-sink';
import { cryptoRandom, realClock, type Clock } from './clock.js';
import { MAX_NAME_BYTES, addressOf, decodeFrame, encodeFrame, envelopeHeader, memberIdOf, releaseEncodedFrame } from './envelope.js';
import { GroupRuntime, type Group, type GroupHost, type JoinOptions, type MemberFactory } from './group.js';
import type { TraceOption, TraceSink } from './trace.js';
import type { PeerAddress, Transport } from './transport.js';

export interface PeerOptions {
  readonly transport: Transport;
  /** The address this peer expects its transport to have; a mismatch is an error. Default: the transport's. */
  readonly id?: PeerAddress;
  /** Randomness in [0, 1) for the protocol. Default: crypto.getRandomValues. */
  readonly random?: () => number;
  /**
   * Time and timers for the protocol and for the tools built on groups. Default: the real clock.
   * A simulator passes a virtual one, so that whole peers run deterministically.
   */
  readonly clock?: Clock;
  /** JSONL trace: a file path (Node) or a callback taking one line; false disables. Node default: SYNOD_TRACE. */
  readonly trace?: TraceOption;
}

export interface PeerStats {
  /** Frames whose envelope is malformed (truncated, unknown version, bad UTF-8, bad member id). */
  droppedMalformed: number;
  /** Frames for a group this peer is not in. */
  droppedUnknownGroup: number;
  /** Frames whose sender member id names another address than the link they came from. */
  droppedSpoofed: number;
  /** Frames the core addressed to a member id without an address part (a core bug if ever non-zero). */
  droppedBadDestination: number;
  /** Frames refused by their group's key check, all groups together (each group counts its own too). */
  droppedUnauthenticated: number;
}

export interface CloseOptions {
  /** Leave each group first (default true); false stops at once, as a crash would. */
  readonly leave?: boolean;
  /** With leave: how long to wait for the groups to let go. Default 2000. */
  readonly timeoutMs?: number;
}

export interface Peer {
  /** This peer's transport address; member ids are `${id}/${incarnation}`. */
  readonly id: PeerAddress;
  readonly transport: Transport;
  readonly stats: PeerStats;
  /** Groups joined (or being joined), by name. */
  readonly groups: ReadonlyMap<string, Group>;
  /** Resolves when the first view containing this peer is installed and the group's state is loaded. */
  join(group: string, options?: JoinOptions): Promise<Group>;
  /** Leaves every group, then closes the transport. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
}

/** Internal seams for unit tests: a fake core, a fake clock. */
export interface PeerDependencies {
  readonly memberFactory: MemberFactory;
  readonly clock: Clock;
}

const encoder = new TextEncoder();

/** Starts the transport and returns a peer ready to join groups. */
export async function createPeer(options: PeerOptions): Promise<Peer> {
  return createPeerWith(options, { memberFactory: (config) => new Member(config), clock: options?.clock ?? realClock });
}

export async function createPeerWith(options: PeerOptions, dependencies: PeerDependencies): Promise<Peer> {
  if (!options || typeof options !== 'object' || !options.transport) {
    throw new SynodError('INVALID_ARGUMENT', 'createPeer needs { transport }');
  }
  const trace = openTraceSink(options.trace);
  try {
    await options.transport.start();
  } catch (cause) {
    trace?.close();
    throw new SynodError('TRANSPORT', 'the transport failed to start', { cause });
  }
  let peer: PeerRuntime;
  try {
    peer = new PeerRuntime(options, dependencies, trace);
  } catch (error) {
    trace?.close();
    await options.transport.close();
    throw error;
  }
  if (options.id !== undefined && options.id !== peer.id) {
    await peer.close({ leave: false });
    throw new SynodError('INVALID_ARGUMENT', `peer id ${options.id} differs from the transport's address ${peer.id}`);
  }
  return peer;
}

class PeerRuntime implements Peer {
  readonly id: PeerAddress;
  readonly transport: Transport;
  readonly stats: PeerStats = {
    droppedMalformed: 0,
    droppedUnknownGroup: 0,
    droppedSpoofed: 0,
    droppedBadDestination: 0,
    droppedUnauthenticated: 0,
  };
  private readonly runtimes = new Map<string, GroupRuntime>();
  private readonly host: GroupHost;
  private readonly unsubscribe: (() => void)[];
  private incarnations = 0;
  private closing: Promise<void> | undefined;

  constructor(options: PeerOptions, dependencies: PeerDependencies, private readonly trace: TraceSink | undefined) {
    this.transport = options.transport;
    this.id = this.transport.localId;
    if (typeof this.id !== 'string' || this.id.length === 0) {
      throw new SynodError('TRANSPORT', 'the transport has no address after start()');
    }
    // Member ids `${address}/${incarnation}` must fit the envelope.
    if (encoder.encode(this.id).length > MAX_NAME_BYTES - 12) {
      throw new SynodError('TRANSPORT', `the transport address is longer than ${MAX_NAME_BYTES - 12} UTF-8 bytes`);
    }
    this.host = {
      address: this.id,
      clock: dependencies.clock,
      random: options.random ?? cryptoRandom(),
      mtuBytes: this.transport.mtuBytes,
      trace,
      memberFactory: dependencies.memberFactory,
      nextIncarnation: () => ++this.incarnations,
      contacts: () => this.transport.peers(),
      transmit: (to, frame) => this.transmit(to, frame),
      congested: () => this.transport.congested?.() ?? false,
      transportHints: {
        ...(this.transport.flowWindowBytes !== undefined ? { flowWindowBytes: this.transport.flowWindowBytes } : {}),
        ...(this.transport.burstBytes !== undefined ? { maxBurstBytes: this.transport.burstBytes } : {}),
      },
      forget: (group) => {
        if (this.runtimes.get(group.name) === group) this.runtimes.delete(group.name);
      },
    };
    this.unsubscribe = [
      this.transport.onMessage((from, bytes) => this.onFrame(from, bytes)),
      this.transport.onLinkDown((address) => {
        for (const group of this.runtimes.values()) group.linkDown(address);
      }),
      this.transport.onDrain?.(() => {
        for (const group of this.runtimes.values()) group.transportDrained();
      }) ?? (() => undefined),
    ];
  }

  get groups(): ReadonlyMap<string, Group> {
    return this.runtimes;
  }

  async join(name: string, options: JoinOptions = {}): Promise<Group> {
    if (this.closing) throw new SynodError('CLOSED', 'the peer is closed');
    if (typeof name !== 'string' || name.length === 0 || encoder.encode(name).length > MAX_NAME_BYTES) {
      throw new SynodError('INVALID_ARGUMENT', `a group name must be 1..${MAX_NAME_BYTES} UTF-8 bytes`);
    }
    if (typeof options !== 'object' || options === null) throw new SynodError('INVALID_ARGUMENT', 'join options must be an object');
    const state = options.state;
    if (state !== undefined && (typeof state.save !== 'function' || typeof state.load !== 'function')) {
      throw new SynodError('INVALID_ARGUMENT', 'state must have save() and load(bytes)');
    }
    if (this.runtimes.has(name)) throw new SynodError('ALREADY_JOINED', `already in group ${name}`);
    if (options.setup !== undefined && typeof options.setup !== 'function') throw new SynodError('INVALID_ARGUMENT', 'setup must be a function');
    const group = new GroupRuntime(this.host, name, options);
    this.runtimes.set(name, group);
    try {
      options.setup?.(group);
    } catch (error) {
      this.runtimes.delete(name);
      group.shutDown(new SynodError('CLOSED', `the setup of group ${name} failed`, { cause: error }));
      throw error;
    }
    return group.ready;
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutDown(options);
    return this.closing;
  }

  private async shutDown(options: CloseOptions): Promise<void> {
    const groups = [...this.runtimes.values()];
    if (options.leave !== false) {
      const timeoutMs = options.timeoutMs ?? 2000;
      let timer: unknown;
      const timeout = new Promise<void>((resolve) => (timer = this.host.clock.setTimer(resolve, timeoutMs)));
      await Promise.race([Promise.all(groups.map((group) => group.leave())), timeout]);
      this.host.clock.clearTimer(timer);
    }
    for (const group of groups) group.shutDown(new SynodError('CLOSED', 'the peer is closed'));
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    try {
      await this.transport.close();
    } finally {
      this.trace?.close();
    }
  }

  /** Never throws: whatever arrives from the network is dropped and counted if it does not fit. */
  private onFrame(from: PeerAddress, bytes: Uint8Array, local = false): void {
    const envelope = decodeFrame(bytes);
    if (!envelope) {
      this.stats.droppedMalformed++;
      return;
    }
    if (addressOf(envelope.sender) !== from) {
      this.stats.droppedSpoofed++;
      return;
    }
    const group = this.runtimes.get(envelope.group);
    if (!group || !group.accepting) {
      this.stats.droppedUnknownGroup++;
      // Tell a peer looking for a group this peer is not in that it need not wait for us.
      const decline = group ? undefined : declineDiscover(envelope.payload);
      if (decline) {
        const frame = encodeFrame(envelopeHeader(envelope.group, memberIdOf(this.id, 0)), decline);
        this.transmit([envelope.sender], frame);
        releaseEncodedFrame(frame, decline);
      }
      return;
    }
    // A frame this peer sent itself never crossed the network: its tag is not checked.
    if (!local && !group.admits(bytes, envelope.authenticated)) {
      this.stats.droppedUnauthenticated++;
      return;
    }
    if (envelope.control) group.control(envelope.sender, envelope.payload);
    else group.receive(envelope.sender, envelope.payload);
  }

  private transmit(to: readonly MemberId[], frame: Uint8Array): void {
    if (to.length === 1) {
      const address = addressOf(to[0]!);
      if (address === undefined) this.stats.droppedBadDestination++;
      else this.transmitTo(address, frame);
      return;
    }
    const addresses = new Set<PeerAddress>();
    for (const member of to) {
      const address = addressOf(member);
      if (address === undefined) this.stats.droppedBadDestination++;
      else addresses.add(address);
    }
    for (const address of addresses) this.transmitTo(address, frame);
  }

  private transmitTo(address: PeerAddress, frame: Uint8Array): void {
    // A copy: the frame is the core's only until its next output (api.ts), and the microtask runs later.
    if (address === this.id) {
      const copy = frame.slice();
      queueMicrotask(() => this.onFrame(this.id, copy, true));
    } else {
      this.transport.send(address, frame);
    }
  }
}
