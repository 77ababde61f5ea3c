/**
 * One member of one group: the protocol stack as a pure state machine. Inputs arrive through the
 * methods with the current time; outputs are drained with takeOutput(). The data path of a view
 * lives in Epoch (fifo, frag, causal, total, safe, stable); this class runs membership (gms,
 * flush), failure detection, discovery, state transfer and flow control around it.
 */
import type { MemberConfig, MemberId, MemberStats, Order, Output, Send, Upcall, View } from './api.js';
import { DecodeError, encodeUtf8 } from './codec.js';
import { DeliverUpcall, SentUpcall } from './upcalls.js';
import { Epoch, type Message } from './epoch.js';
import { SynodError, invariant } from './errors.js';
import { FailureDetector } from './fd.js';
import { DeferredReleases, isFrameBytes } from './frames.js';
import { chunkCount, chunkOf } from './frag.js';
import { Founding } from './found.js';
import { MAX_PACKED_MESSAGES, MAX_PACKED_MESSAGE_BYTES, forEachPacked, packBytes, packedSize } from './pack.js';
import { chooseProposal, isQuorum, type FlushPromise } from './gms.js';
import { compareBallots, dataHeaderBytes, decodeFrame, encodeFrame, type Ballot, type Frame, type Proposal } from './wire.js';
import { StateProvider, StateReceiver } from './xfer.js';

const NO_BYTES = new Uint8Array(0);

type Phase = 'idle' | 'discovering' | 'joining' | 'member' | 'minority' | 'handoff' | 'excluded' | 'left';
type FrameOf<K extends Frame['kind']> = Extract<Frame, { kind: K }>;

interface QueuedSend {
  readonly localId: number;
  readonly order: Order;
  readonly payload: Uint8Array;
  /** Fragments of the payload in the current view (0: not started in this view), of chunkBytes each. */
  chunkCount: number;
  chunkBytes: number;
  nextChunk: number;
  firstSeqno: number;
  vectorClock: number[] | undefined;
}

interface Round {
  readonly ballot: Ballot;
  phase: 'promise' | 'accept';
  readonly participants: Set<MemberId>;
  readonly promises: Map<MemberId, FlushPromise>;
  readonly oks: Set<MemberId>;
  proposal: Proposal | undefined;
  readonly deadlineMs: number;
}

interface Accepted {
  readonly ballot: Ballot;
  readonly proposal: Proposal;
  complete: boolean;
}

const DEFAULTS = {
  mtuBytes: 16 * 1024,
  maxMessageBytes: 64 * 1024 * 1024,
  heartbeatMs: 200,
  suspectAfterMs: 1500,
  retransmitMs: 40,
  discoveryMs: 300,
  flushTimeoutMs: 2000,
  flowWindowBytes: 512 * 1024,
  maxQueuedBytes: 256 * 1024 * 1024,
  maxBurstBytes: Number.POSITIVE_INFINITY,
};
const MAX_NAK_UNITS = 256;
/** NAKs per stream per retransmission round: one per hole, for this many holes. */
const MAX_NAK_RANGES = 16;
const MAX_FUTURE_FRAMES = 1024;
const XFER_WINDOW_CHUNKS = 64;
/** Rounds a would-be founder listens before founding: a peer looking in any of them outranks it. */
const FOUNDING_ROUNDS = 3;

export class Member {
  readonly self: MemberId;
  readonly group: string;
  readonly stats: MemberStats = {
    droppedMalformed: 0,
    droppedNonMember: 0,
    droppedStale: 0,
    retransmitsSent: 0,
    naksSent: 0,
    viewChanges: 0,
    packedMessages: 0,
  };
  private readonly options: typeof DEFAULTS;
  /** Free bytes before each frame this member encodes (MemberConfig.frameHeadroomBytes). */
  private readonly headroomBytes: number;
  private phase: Phase = 'idle';
  private leaving = false;
  private nowMs = 0;
  private sends: Send[] = [];
  private upcalls: Upcall[] = [];
  /** While a joiner waits for its state, later upcalls wait here. */
  private heldUpcalls: Upcall[] | undefined;
  /** References to pooled frames this member no longer holds, given back after the runtime's next takeOutput() (frames.ts). */
  private readonly releases = new DeferredReleases();
  private readonly loopback: { from: MemberId; frame: Frame; bytes: Uint8Array }[] = [];

  // The current view.
  private epoch: Epoch | undefined;
  /**
   * The view before the current one, kept to serve retransmissions to members that have yet to
   * finish it (they may lack units of the cut that only this member holds), until every member
   * that came from it has been heard in the new view.
   */
  private previous: { readonly epoch: Epoch; readonly waiting: Set<MemberId> } | undefined;
  private viewFrame: Uint8Array | undefined;
  /** Members of the current view that were in the previous one: they break quorum ties. */
  private carried: readonly MemberId[] = [];
  private readonly fd: FailureDetector;
  private heartbeatAtMs = 0;
  private housekeepingAtMs = 0;
  private futureFrames: { from: MemberId; bytes: Uint8Array }[] = [];
  private readonly catchUpSentMs = new Map<MemberId, number>();

  // Flush, as a participant.
  private promised: Ballot | undefined;
  private accepted: Accepted | undefined;
  private frozen = false;
  private pendingView: { from: MemberId; frame: FrameOf<'view'>; bytes: Uint8Array } | undefined;
  // Flush, as the coordinator.
  private round: Round | undefined;
  private maxAttemptSeen = 0;
  private readonly pendingJoins = new Set<MemberId>();
  private readonly pendingLeaves = new Set<MemberId>();
  private viewAcksPending = new Set<MemberId>();

  // Discovery and joining.
  private contacts: MemberId[] = [];
  private discoveryReplies = new Map<MemberId, FrameOf<'discoverReply'>>();
  private phaseDeadlineMs = 0;
  private joinTarget: MemberId | undefined;
  private discoveryRound = 0;
  private groupHintRound = -1;
  private readonly uninterested = new Set<MemberId>();
  private probeAtMs = 0;
  /** A joiner waiting for its state: since when it has suspected its provider (the one member that can give it). */
  private stateHoldersGoneSinceMs: number | undefined;
  /** No new round before this: the last one found nobody left to hold the state. */
  private roundBackoffUntilMs = 0;
  /**
   * Members of the view whose digests say they are frozen (they promised a flush), since when; and
   * when this member froze. A freeze that outlives every round (its proposer gave up, as one cut
   * off alone does) is ended by the coordinator with a round of its own (staleFreeze()).
   */
  private readonly frozenSinceMs = new Map<MemberId, number>();
  private frozenAtMs = 0;
  private sendsQueued = false;
  private congested = false;
  /** New data sent since the output was last taken; the burst is full when it reached maxBurstBytes. */
  private burstSentBytes = 0;
  private burstFull = false;
  /** Peers heard looking for the group (not in it), with the discovery round they were heard in. */
  private readonly lookingHeard = new Map<MemberId, number>();
  private readonly founding: Founding;

  // App sends.
  private readonly sendQueue: QueuedSend[] = [];
  private queuedBytes = 0;
  private nextLocalId = 1;

  // State transfer.
  private readonly providers = new Map<number, StateProvider>();
  /** A coordinator that leaves with the view it installs hands that view over before it goes. */
  private handoff: { readonly bytes: Uint8Array; readonly pending: Set<MemberId>; readonly untilMs: number; readonly outcome: 'left' | 'excluded'; nextMs: number } | undefined;
  private receiver: StateReceiver | undefined;

  constructor(readonly config: MemberConfig) {
    this.self = config.self;
    this.group = config.group;
    const options = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const value = config[key];
      if (value !== undefined) {
        if (!(typeof value === 'number' && value > 0)) {
          throw new SynodError('INVALID_ARGUMENT', `${key} must be a positive number`);
        }
        options[key] = value;
      }
    }
    if (options.mtuBytes < 512) throw new SynodError('INVALID_ARGUMENT', 'mtuBytes must be at least 512');
    const headroom = config.frameHeadroomBytes ?? 0;
    if (!(Number.isInteger(headroom) && headroom >= 0 && headroom <= 255)) {
      throw new SynodError('INVALID_ARGUMENT', 'frameHeadroomBytes must be an integer from 0 to 255');
    }
    this.headroomBytes = headroom;
    this.options = options;
    this.fd = new FailureDetector(options.suspectAfterMs);
    this.founding = new Founding(this.self);
  }

  get view(): View | undefined {
    return this.phase === 'member' || this.phase === 'minority' ? this.epoch?.view : undefined;
  }

  get status(): Phase {
    return this.phase;
  }

  /**
   * The next view this member accepted in a flush, if any. Once accepted it may be installed at
   * any moment, as it is, even after its coordinator crashed (a coordinator that takes over adopts
   * it), so whoever injects faults must treat it as the latest view (the simulator does).
   */
  get acceptedView(): { readonly viewId: number; readonly members: readonly MemberId[] } | undefined {
    const proposal = this.pendingView?.frame.proposal ?? this.accepted?.proposal;
    const epoch = this.epoch;
    if (!proposal || !epoch || (this.phase !== 'member' && this.phase !== 'minority')) return undefined;
    return { viewId: epoch.view.viewId + 1, members: proposal.members };
  }

  // ---------------------------------------------------------------- inputs

  join(contacts: readonly MemberId[], nowMs: number): void {
    if (this.phase !== 'idle') throw new SynodError('ALREADY_JOINED', `member ${this.self} already joined`);
    this.nowMs = nowMs;
    this.contacts = [...new Set(contacts)].filter((contact) => contact !== this.self);
    if (this.contacts.length === 0) this.found();
    else this.startDiscovery();
    this.settle();
  }

  /**
   * Replaces the peers to ask while discovering and joining (e.g. the transport's live peers):
   * contacts given at join time may have died since, and a joiner never founds beside them.
   */
  updateContacts(contacts: readonly MemberId[], nowMs: number): void {
    this.nowMs = nowMs;
    this.contacts = [...new Set(contacts)].filter((contact) => contact !== this.self);
    this.settle();
  }

  send(order: Order, payload: Uint8Array, nowMs: number): number {
    this.nowMs = nowMs;
    if (!(payload instanceof Uint8Array)) throw new SynodError('INVALID_ARGUMENT', 'payload must be a Uint8Array');
    if (this.phase === 'excluded') throw new SynodError('EXCLUDED', 'this member was excluded from the group');
    if (this.phase !== 'member' && this.phase !== 'minority') throw new SynodError('NOT_JOINED', 'not a member of the group');
    if (this.leaving) throw new SynodError('CLOSED', 'the member is leaving the group');
    if (payload.length > this.options.maxMessageBytes) {
      throw new SynodError('MESSAGE_TOO_LARGE', `message of ${payload.length} bytes exceeds maxMessageBytes`);
    }
    if (this.queuedBytes + payload.length > this.options.maxQueuedBytes && this.sendQueue.length > 0) {
      throw new SynodError('BACKPRESSURE', 'send queue is full; wait for sent upcalls');
    }
    // Bytes of a frame (a delivered payload sent on) are valid only until the next output (api.ts),
    // and the queue may hold them for many: they are copied.
    if (isFrameBytes(payload)) payload = payload.slice();
    const localId = this.nextLocalId++;
    this.sendQueue.push({ localId, order, payload, chunkCount: 0, chunkBytes: 0, nextChunk: 0, firstSeqno: 0, vectorClock: undefined });
    this.queuedBytes += payload.length;
    // Sent when the output is next taken: what the app sends meanwhile can share units (pack.ts).
    this.sendsQueued = true;
    return localId;
  }

  /**
   * Backpressure from the transport: while `congested`, frames already wait inside it (a link's
   * buffer is full), so no new data units go out; the flush, retransmissions, acknowledgements and
   * heartbeats still do. The runtime clears it when the transport drains.
   */
  setCongested(congested: boolean, nowMs: number): void {
    this.nowMs = nowMs;
    if (this.congested === congested) return;
    this.congested = congested;
    if (!congested && this.sendQueue.length > 0) this.sendsQueued = true;
  }

  leave(nowMs: number): void {
    this.nowMs = nowMs;
    if (this.phase === 'left' || this.phase === 'excluded' || this.phase === 'handoff' || this.leaving) return;
    if (this.phase !== 'member' && this.phase !== 'minority') {
      this.finishAs('left');
      return;
    }
    // What the app sent before leaving goes out first, as far as the flow window lets it.
    if (this.sendsQueued) {
      this.sendsQueued = false;
      this.settle();
    }
    this.leaving = true;
    this.sendQueue.length = 0;
    this.queuedBytes = 0;
    if (this.epoch!.view.members.length === 1) this.finishAs('left');
    else this.requestLeave();
    this.settle();
  }

  receive(from: MemberId, bytes: Uint8Array, nowMs: number): void {
    this.nowMs = nowMs;
    let decoded: { group: string; frame: Frame };
    try {
      decoded = decodeFrame(bytes, this.options.maxMessageBytes);
    } catch (error) {
      if (!(error instanceof DecodeError) && !(error instanceof RangeError)) throw error;
      this.stats.droppedMalformed++;
      return;
    }
    if (decoded.group !== this.group || from === this.self) {
      this.stats.droppedMalformed++;
      return;
    }
    this.dispatch(from, decoded.frame, bytes);
    // The runtime handed over its reference (api.ts). The frames of these kinds are never kept as
    // they came (a stream keeps a data frame with a reference of its own); any other frame's
    // reference is left to the collector, as some of them are kept.
    const kind = decoded.frame.kind;
    if (kind === 'data' || kind === 'digest' || kind === 'nak') this.releases.add(bytes);
    this.settle();
  }

  linkDown(peer: MemberId, nowMs: number): void {
    this.nowMs = nowMs;
    if (this.epoch && this.fd.suspect(peer)) this.onSuspicion();
    this.settle();
  }

  tick(nowMs: number): void {
    this.nowMs = nowMs;
    if (this.phase === 'handoff') {
      this.continueHandoff();
    } else if (this.phase === 'discovering' || this.phase === 'joining') {
      if (nowMs >= this.phaseDeadlineMs) this.discoveryDeadline();
    } else if (this.epoch && (this.phase === 'member' || this.phase === 'minority')) {
      if (this.fd.check(nowMs).length > 0) this.onSuspicion();
      if (nowMs >= this.heartbeatAtMs) {
        this.heartbeatAtMs = nowMs + this.options.heartbeatMs;
        this.broadcastDigest();
      }
      if (nowMs >= this.housekeepingAtMs) {
        this.housekeepingAtMs = nowMs + this.options.retransmitMs;
        this.housekeeping();
      }
    }
    this.settle();
  }

  private continueHandoff(): void {
    const handoff = this.handoff!;
    if (handoff.pending.size === 0 || this.nowMs >= handoff.untilMs) {
      this.handoff = undefined;
      this.finishAs(handoff.outcome);
    } else if (this.nowMs >= handoff.nextMs) {
      handoff.nextMs = this.nowMs + this.options.retransmitMs;
      this.sendBytes([...handoff.pending], handoff.bytes);
    }
  }

  provideState(xferId: string, state: Uint8Array, nowMs: number): void {
    this.nowMs = nowMs;
    const provider = this.providers.get(Number(xferId));
    if (!provider || provider.state) throw new SynodError('UNKNOWN_XFER', `no pending state transfer ${xferId}`);
    provider.state = state.slice();
    this.settle();
  }

  takeOutput(): Output {
    // The runtime is done with the previous output: what it held goes back to the frame pool.
    this.releases.turn();
    // The sequencer orders at drain time: everything that arrived since the last drain goes out
    // as one order unit (batching, as JGroups SEQUENCER2).
    if (this.sendsQueued || this.burstFull) {
      this.sendsQueued = false;
      this.settle();
    }
    const epoch = this.epoch;
    if (epoch && this.phase === 'member' && !this.frozen && epoch.isSequencer && epoch.total.hasBacklog) {
      this.sequence(epoch);
      this.settle();
    }
    const output: Output = { sends: this.sends, upcalls: this.upcalls, wakeAtMs: this.wakeAtMs() };
    this.sends = [];
    this.upcalls = [];
    // The next burst starts once this output is out (and the runtime had its look at the transport).
    this.burstSentBytes = 0;
    return output;
  }

  /** Bytes this member holds for the protocol: unstable units, undelivered messages, held state. */
  bufferedBytes(): number {
    let bytes = (this.epoch?.bufferedBytes() ?? 0) + (this.previous?.epoch.bufferedBytes() ?? 0);
    for (const provider of this.providers.values()) bytes += provider.state?.length ?? 0;
    for (const frame of this.futureFrames) bytes += frame.bytes.length;
    return bytes;
  }

  // ---------------------------------------------------------------- plumbing

  private wakeAtMs(): number | undefined {
    switch (this.phase) {
      case 'discovering':
      case 'joining':
        return this.phaseDeadlineMs;
      case 'handoff':
        return this.handoff!.nextMs;
      case 'member':
      case 'minority': {
        // The rest of a burst at once, while it can go (pump() clears the flag when it cannot).
        if (this.burstFull && this.phase === 'member') return this.nowMs;
        const deadlines = [this.heartbeatAtMs, this.housekeepingAtMs];
        const suspicion = this.fd.nextDeadline();
        if (suspicion !== undefined) deadlines.push(suspicion);
        return Math.min(...deadlines);
      }
      default:
        return undefined;
    }
  }

  private emit(upcall: Upcall): void {
    if (this.heldUpcalls) this.heldUpcalls.push(upcall);
    else this.upcalls.push(upcall);
  }

  private sendFrame(to: readonly MemberId[], frame: Frame): void {
    const bytes = encodeFrame(this.group, frame, this.headroomBytes);
    const remote = to.filter((member) => member !== this.self);
    if (remote.length > 0) this.sends.push({ to: remote, bytes, headroomBytes: this.headroomBytes });
    if (remote.length !== to.length) this.loopback.push({ from: this.self, frame, bytes });
    // The frequent kinds, never kept: their frame goes back to the pool once sent.
    if (frame.kind === 'digest' || frame.kind === 'nak') this.releases.add(bytes);
  }

  /** `headroomBytes`: free before `bytes` (a frame this member just encoded with its headroom). */
  private sendBytes(to: readonly MemberId[], bytes: Uint8Array, headroomBytes = 0): void {
    // Most lists are already without this member (others(), one peer): no copy for those.
    const remote = to.includes(this.self) ? to.filter((member) => member !== this.self) : to;
    if (remote.length > 0) this.sends.push({ to: remote, bytes, headroomBytes });
  }

  /** The current view's other members; one array per view, shared by the sends (never mutated). */
  private others(): readonly MemberId[] {
    const epoch = this.epoch;
    if (!epoch) return [];
    if (this.othersOf !== epoch) {
      this.othersOf = epoch;
      this.othersList = epoch.view.members.filter((member) => member !== this.self);
    }
    return this.othersList;
  }
  private othersOf: Epoch | undefined;
  private othersList: readonly MemberId[] = [];

  /** Runs after every input: loopback frames, deliveries, sends, acks, view-change triggers. */
  private settle(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const next = this.loopback.shift();
      if (next) {
        this.dispatch(next.from, next.frame, next.bytes);
        continue;
      }
      if (!this.progress()) break;
    }
  }

  /** One pass of the work an input may unlock; returns true if it queued loopback work. */
  private progress(): boolean {
    const epoch = this.epoch;
    if (!epoch || (this.phase !== 'member' && this.phase !== 'minority')) return this.loopback.length > 0;
    this.checkPendingView();
    this.checkAcceptComplete();
    if (this.phase !== 'member' || this.epoch !== epoch) return this.loopback.length > 0;
    this.deliverReady();
    this.pump();
    if (epoch.safeAckDue || epoch.unreportedBytes >= this.options.flowWindowBytes / 8) this.broadcastDigest();
    this.maybeStartRound();
    return this.loopback.length > 0;
  }

  private dispatch(from: MemberId, frame: Frame, bytes: Uint8Array): void {
    if (this.phase === 'handoff') {
      if (frame.kind === 'viewAck') this.handoff!.pending.delete(from);
      return this.continueHandoff();
    }
    switch (frame.kind) {
      case 'discover':
        return this.onDiscover(from, frame);
      case 'discoverReply':
        return this.onDiscoverReply(from, frame);
      case 'joinRequest':
        return this.onJoinRequest(from);
      case 'view':
        return this.onView(from, frame, bytes);
      case 'viewRequest':
        return this.onViewRequest(from, frame);
      case 'notMember':
        if (this.epoch && frame.viewId > this.epoch.view.viewId && (this.phase === 'member' || this.phase === 'minority')) {
          this.exclude(`view ${frame.viewId} went on without this member`);
        }
        return;
      case 'xferChunk':
      case 'xferWait':
        return this.onXferReply(from, frame);
      // A transfer outlives the view it started in (more members may join meanwhile): it is keyed
      // by its own view id and checked against the joiners it serves, not against the current view.
      case 'xferRequest':
        return this.onXferRequest(from, frame);
      case 'xferDone': {
        const provider = this.providers.get(frame.viewId);
        provider?.joiners.delete(from);
        if (provider && provider.joiners.size === 0) this.providers.delete(frame.viewId);
        return;
      }
      case 'foundRequest':
        return this.onFoundRequest(from, frame);
      case 'foundVote':
        return this.onFoundVote(from, frame);
      case 'foundRelease':
        return this.founding.onRelease(from, frame.attempt);
      default:
        return this.dispatchViewFrame(from, frame, bytes);
    }
  }

  /** Frames that only members of this member's current view may send. */
  private dispatchViewFrame(
    from: MemberId,
    frame: Exclude<
      Frame,
      { kind: 'discover' | 'discoverReply' | 'joinRequest' | 'view' | 'viewRequest' | 'notMember' | 'xferChunk' | 'xferWait' | 'xferRequest' | 'xferDone' | 'foundRequest' | 'foundVote' | 'foundRelease' }
    >,
    bytes: Uint8Array,
  ): void {
    const epoch = this.epoch;
    if (!epoch || (this.phase !== 'member' && this.phase !== 'minority')) {
      this.stats.droppedStale++;
      return;
    }
    const fromIndex = epoch.view.members.indexOf(from);
    const viewId = epoch.view.viewId;
    if (fromIndex < 0) {
      this.stats.droppedNonMember++;
      // An excluded member still talking in an older view learns that it was excluded.
      if (frame.viewId < viewId) this.rateLimited(from, () => this.sendFrame([from], { kind: 'notMember', viewId }));
      return;
    }
    if (frame.viewId !== viewId) {
      if (frame.viewId > viewId) {
        // Own bytes, not a view pinning a pooled slab of frames (see install()).
        if (frame.viewId === viewId + 1 && this.futureFrames.length < MAX_FUTURE_FRAMES) this.futureFrames.push({ from, bytes: bytes.slice() });
        else this.stats.droppedStale++;
        this.rateLimited(from, () => this.sendFrame([from], { kind: 'viewRequest', viewId }));
      } else {
        const previous = this.previous?.epoch;
        if (frame.kind === 'nak' && previous && frame.viewId === previous.view.viewId && previous.view.members.includes(from)) {
          this.serveNak(previous, from, frame);
          return;
        }
        this.stats.droppedStale++;
        if (this.viewFrame) this.rateLimited(from, () => this.sendBytes([from], this.viewFrame!));
      }
      return;
    }
    this.heard(from);
    if (this.previous?.waiting.delete(from) && this.previous.waiting.size === 0) this.previous = undefined;
    switch (frame.kind) {
      case 'data':
        if (frame.senderIndex >= epoch.view.members.length) {
          this.stats.droppedMalformed++;
          return;
        }
        return epoch.receive(frame, bytes);
      case 'digest':
        if (frame.received.length !== epoch.view.members.length) {
          this.stats.droppedMalformed++;
          return;
        }
        if (frame.frozen) {
          if (!this.frozenSinceMs.has(from)) this.frozenSinceMs.set(from, this.nowMs);
        } else {
          this.frozenSinceMs.delete(from);
        }
        return epoch.onDigest(fromIndex, frame.received, frame.frozen);
      case 'nak':
        return this.onNak(from, frame);
      case 'leaveRequest':
        if (frame.graceful) this.pendingLeaves.add(from);
        else if (this.fd.suspect(from)) this.onSuspicion();
        return;
      case 'flushStart':
        return this.onFlushStart(from, frame);
      case 'flushPromise':
        return this.onFlushPromise(from, frame);
      case 'flushReject':
        this.maxAttemptSeen = Math.max(this.maxAttemptSeen, frame.promised.attempt);
        return;
      case 'flushAccept':
        return this.onFlushAccept(from, frame);
      case 'flushOk':
        return this.onFlushOk(from, frame);
      case 'viewAck':
        this.viewAcksPending.delete(from);
        return;
    }
  }

  private rateLimited(peer: MemberId, action: () => void): void {
    const last = this.catchUpSentMs.get(peer);
    if (last !== undefined && this.nowMs - last < this.options.retransmitMs) return;
    this.catchUpSentMs.set(peer, this.nowMs);
    action();
  }

  private heard(from: MemberId): void {
    this.fd.heard(from, this.nowMs);
    // A joiner waiting for its state forgives its provider when it hears it again.
    if (this.receiver && this.stateHoldersGoneSinceMs !== undefined && from === this.receiver.provider) {
      this.stateHoldersGoneSinceMs = undefined;
      if (this.phase === 'member') this.fd.forgive(from);
    }
    if (this.phase === 'minority' && this.fd.forgive(from)) {
      const view = this.epoch!.view;
      if (isQuorum(this.aliveMembers(), view.members, this.carried)) {
        this.phase = 'member';
        this.emit({ type: 'majority', view });
      }
    }
  }

  // ---------------------------------------------------------------- discovery and joining

  private found(): void {
    this.founding.founded();
    const view: View = { group: this.group, viewId: 1, members: [this.self] };
    const frame: FrameOf<'view'> = { kind: 'view', viewId: 0, oldMembers: [], proposal: { members: [this.self], cut: [], holders: [], participants: [] } };
    this.install(view, encodeFrame(this.group, frame), [this.self], []);
  }

  private startDiscovery(): void {
    this.phase = 'discovering';
    this.discoveryRound++;
    this.discoveryReplies = new Map();
    this.phaseDeadlineMs = this.nowMs + this.options.discoveryMs;
    this.sendFrame(this.contacts, { kind: 'discover', coordinator: '' });
    this.sendReleases();
  }

  /** The peers whose votes count toward founding: the contacts, less those not in the group at all. */
  private electorate(): MemberId[] {
    return this.contacts.filter((contact) => !this.uninterested.has(contact));
  }

  private withdrawCandidacy(): void {
    if (!this.founding.standing) return;
    this.founding.withdraw();
    this.sendReleases();
  }

  private sendReleases(): void {
    for (const [voter, attempt] of this.founding.releasesOwed) this.sendFrame([voter], { kind: 'foundRelease', attempt });
  }

  private onFoundRequest(from: MemberId, frame: FrameOf<'foundRequest'>): void {
    if (this.phase !== 'discovering') {
      // A member tells the candidate about the group, a joiner about the group it joins.
      if (this.phase === 'member' || this.phase === 'minority' || this.phase === 'joining') this.onDiscover(from, { kind: 'discover', coordinator: '' });
      return;
    }
    this.lookingHeard.set(from, this.discoveryRound);
    const wasStanding = this.founding.standing;
    const answer = this.founding.onRequest(from, frame.attempt);
    if (wasStanding && !this.founding.standing) this.sendReleases();
    if (answer) this.sendFrame([from], { kind: 'foundVote', attempt: frame.attempt, ...answer });
  }

  private onFoundVote(from: MemberId, frame: FrameOf<'foundVote'>): void {
    if (this.phase !== 'discovering') return;
    if (this.founding.onAnswer(from, frame.attempt, frame)) {
      this.withdrawCandidacy();
    } else if (this.founding.hasMajority(this.electorate().length)) {
      this.found();
    } else if (!frame.granted && frame.votedFor !== '' && frame.votedFor !== this.self && !this.contacts.includes(frame.votedFor)) {
      // A rival candidate this peer did not know: it must hear this candidacy to withdraw.
      this.contacts.push(frame.votedFor);
      this.founding.asking(frame.votedFor);
      this.sendFrame([frame.votedFor], { kind: 'foundRequest', attempt: this.founding.attempt });
    }
  }

  private onDiscover(from: MemberId, frame: FrameOf<'discover'>): void {
    // Whoever asks is looking too: a founder must know every peer looking, not only those that
    // answered its own question (which may have gone out before they started). One that asks
    // while joining a group tells us the group exists.
    if (this.phase === 'discovering' || this.phase === 'joining') {
      if (frame.coordinator === '') this.lookingHeard.set(from, this.discoveryRound);
      else this.groupHint(frame.coordinator);
    }
    const inGroup = (this.phase === 'member' || this.phase === 'minority') && !this.leaving;
    const view = this.epoch?.view;
    this.sendFrame([from], {
      kind: 'discoverReply',
      inGroup,
      viewId: inGroup ? view!.viewId : 0,
      coordinator: inGroup ? this.actingCoordinator() : this.phase === 'joining' && this.joinTarget ? this.joinTarget : this.self,
    });
  }

  private onDiscoverReply(from: MemberId, frame: FrameOf<'discoverReply'>): void {
    if (this.phase === 'minority') {
      const view = this.epoch!.view;
      if (frame.inGroup && (frame.viewId > view.viewId || !view.members.includes(frame.coordinator))) {
        this.exclude(`the group went on without this member (view ${frame.viewId} at ${frame.coordinator})`);
      }
      return;
    }
    if (this.phase !== 'discovering' && this.phase !== 'joining') return;
    if (!frame.inGroup && frame.coordinator === '') {
      // A peer that does not take part in this group at all: no co-founder, no group behind it.
      this.uninterested.add(from);
      return;
    }
    this.discoveryReplies.set(from, frame);
    if (!frame.inGroup) {
      if (frame.coordinator === from) this.lookingHeard.set(from, this.discoveryRound);
      else this.groupHint(frame.coordinator);
    }
    if (frame.inGroup && this.phase === 'joining') this.joinTarget = frame.coordinator;
  }

  /** Another joiner knows of a group at `coordinator`: ask it too, and found nothing this round. */
  private groupHint(coordinator: MemberId): void {
    this.groupHintRound = this.discoveryRound;
    if (coordinator !== this.self && !this.contacts.includes(coordinator)) this.contacts.push(coordinator);
  }

  private discoveryDeadline(): void {
    const inGroup = [...this.discoveryReplies.values()].filter((reply) => reply.inGroup);
    if (inGroup.length > 0) {
      inGroup.sort((a, b) => b.viewId - a.viewId);
      this.withdrawCandidacy();
      this.phase = 'joining';
      this.joinTarget = inGroup[0]!.coordinator;
      this.sendFrame([this.joinTarget], { kind: 'joinRequest' });
      this.discoveryReplies = new Map();
      this.phaseDeadlineMs = this.nowMs + this.options.discoveryMs;
      this.sendFrame(this.contacts, { kind: 'discover', coordinator: this.joinTarget });
      return;
    }
    // Nobody is in a group. The smallest id among the peers looking stands as founder, after
    // listening for FOUNDING_ROUNDS rounds (on a lossy or slow network a peer heard in any of them
    // counts), and founds once a majority of its contacts consent (found.ts): peers that merely
    // missed each other's frames must not found two groups of one name, which never merge.
    const recent = [...this.lookingHeard].filter(([, round]) => round > this.discoveryRound - FOUNDING_ROUNDS);
    const smallest = recent.every(([peer]) => this.self < peer);
    const hinted = this.groupHintRound > this.discoveryRound - FOUNDING_ROUNDS;
    if (hinted) this.withdrawCandidacy();
    const eligible = this.phase === 'discovering' && this.discoveryRound >= FOUNDING_ROUNDS && smallest && !hinted && this.founding.mayStand;
    if (eligible || this.founding.standing) {
      const attempt = this.founding.stand();
      const electorate = this.electorate();
      if (this.founding.hasMajority(electorate.length)) {
        this.found();
        return;
      }
      this.sendFrame(this.founding.ungranted(electorate), { kind: 'foundRequest', attempt });
    }
    this.startDiscovery();
  }

  private onJoinRequest(from: MemberId): void {
    const epoch = this.epoch;
    // A joiner that is in the view but missed the view frame gets it from anyone, even a member
    // in the minority (counted in the view, the joiner may be what that minority lacks).
    if (epoch && (this.phase === 'member' || this.phase === 'minority') && epoch.view.members.includes(from)) {
      if (this.viewFrame) this.rateLimited(from, () => this.sendBytes([from], this.viewFrame!));
      return;
    }
    if (!epoch || this.phase !== 'member') return;
    if (this.actingCoordinator() !== this.self) {
      this.sendFrame([from], { kind: 'discoverReply', inGroup: true, viewId: epoch.view.viewId, coordinator: this.actingCoordinator() });
      return;
    }
    this.pendingJoins.add(from);
  }

  private requestLeave(): void {
    const coordinator = this.actingCoordinator();
    const viewId = this.epoch!.view.viewId;
    if (coordinator === this.self) this.pendingLeaves.add(this.self);
    else this.sendFrame([coordinator], { kind: 'leaveRequest', viewId, graceful: true });
  }

  // ---------------------------------------------------------------- sending

  private chunkBytes(): number {
    const n = this.epoch!.view.members.length;
    if (this.chunkBytesFor?.members !== n) this.chunkBytesFor = { members: n, bytes: this.options.mtuBytes - dataHeaderBytes(this.group, n) };
    return this.chunkBytesFor.bytes;
  }
  private chunkBytesFor: { members: number; bytes: number } | undefined;

  /**
   * The window in messages as well as bytes: one message of credit per 512 bytes of window (1024
   * at the default 512 KiB). Small messages would otherwise fill the byte window by the thousand,
   * each alive until stable, and the collector's work grows with them (with packing, 100 B abcasts
   * ran at 0.3 of the raw rate with 512 KiB of them in flight and 0.47–0.58 with 128 KiB).
   */
  private get flowWindowMessages(): number {
    return Math.max(16, Math.floor(this.options.flowWindowBytes / 512));
  }

  /** Sends queued messages while the flow-control window has credit. */
  private pump(): void {
    const epoch = this.epoch!;
    // A joiner sends nothing before it holds the state: its messages would rest on no state, and
    // if it never gets the state (its provider fails) it leaves the group with them unconfirmed.
    this.burstFull = false;
    if (this.frozen || this.leaving || this.receiver || this.congested) return;
    const others = this.others();
    while (this.sendQueue.length > 0) {
      if (this.burstSentBytes >= this.options.maxBurstBytes) {
        this.burstFull = true;
        return;
      }
      if (epoch.unstableOwnBytes > 0 && epoch.unstableOwnBytes >= this.options.flowWindowBytes) return;
      if (epoch.unstableOwnMessages >= this.flowWindowMessages) return;
      const entry = this.sendQueue[0]!;
      if (entry.chunkCount === 0 && this.sendQueue.length > 1 && this.pumpPacked(epoch, others)) continue;
      if (entry.chunkCount === 0) {
        entry.chunkBytes = this.chunkBytes();
        entry.chunkCount = chunkCount(entry.payload.length, entry.chunkBytes);
        entry.nextChunk = 0;
        entry.firstSeqno = epoch.peekNextSeqno();
        entry.vectorClock = entry.order === 'causal' ? epoch.causal.stamp(epoch.selfIndex) : undefined;
      }
      const index = entry.nextChunk++;
      const first = index === 0;
      const last = index === entry.chunkCount - 1;
      const frame = epoch.sendUnit({
        order: entry.order,
        first,
        last,
        messageBytes: entry.payload.length,
        vectorClock: first ? entry.vectorClock : undefined,
        chunk: chunkOf(entry.payload, index, entry.chunkBytes),
      }, last ? 1 : 0);
      this.sendBytes(others, frame, this.headroomBytes);
      this.burstSentBytes += frame.length;
      if (!last) continue;
      this.sendQueue.shift();
      this.queuedBytes -= entry.payload.length;
      this.emit(new SentUpcall(entry.localId, this.self, epoch.view.viewId, entry.firstSeqno, -1));
      // The next causal stamp must count this message as delivered here.
      if (entry.order === 'causal') this.deliverReady();
    }
  }

  /**
   * Sends the small messages at the head of the queue (of one order, not yet started in this view)
   * as one packed unit, if there are at least two; returns whether it did.
   */
  private pumpPacked(epoch: Epoch, others: readonly MemberId[]): boolean {
    const queue = this.sendQueue;
    const order = queue[0]!.order;
    // Within the flow window, its bytes and its messages, as single messages are.
    // And a pack is one message on the wire: receivers refuse any longer than maxMessageBytes.
    const room = Math.min(this.chunkBytes() - 2, this.options.flowWindowBytes - epoch.unstableOwnBytes, this.options.maxMessageBytes - 2);
    const credit = Math.min(MAX_PACKED_MESSAGES, this.flowWindowMessages - epoch.unstableOwnMessages);
    let count = 0;
    let bytes = 0;
    while (count < queue.length && count < credit) {
      const entry = queue[count]!;
      if (entry.order !== order || entry.chunkCount !== 0 || entry.payload.length > MAX_PACKED_MESSAGE_BYTES) break;
      const size = packedSize(entry.payload);
      if (bytes + size > room) break;
      bytes += size;
      count++;
    }
    if (count < 2) return false;
    const entries = queue.splice(0, count);
    const firstSeqno = epoch.peekNextSeqno();
    const frame = epoch.sendUnit({
      order,
      first: true,
      last: true,
      messageBytes: packBytes(count, bytes),
      vectorClock: order === 'causal' ? epoch.causal.stamp(epoch.selfIndex) : undefined,
      chunk: NO_BYTES,
      parts: entries.map((entry) => entry.payload),
    }, count);
    this.sendBytes(others, frame, this.headroomBytes);
    this.burstSentBytes += frame.length;
    this.stats.packedMessages += count;
    const viewId = epoch.view.viewId;
    for (let i = 0; i < count; i++) {
      const entry = entries[i]!;
      this.queuedBytes -= entry.payload.length;
      this.emit(new SentUpcall(entry.localId, this.self, viewId, firstSeqno, i));
    }
    if (order === 'causal') this.deliverReady();
    return true;
  }

  private sequence(epoch: Epoch): void {
    const maxEntries = Math.floor((this.options.mtuBytes - 64) / 12);
    const others = this.others();
    while (epoch.total.hasBacklog) {
      const entries = epoch.total.takeSequencerBacklog(maxEntries);
      const frame = epoch.sendUnit({ order: 'order', entries });
      this.sendBytes(others, frame, this.headroomBytes);
    }
  }

  private broadcastDigest(): void {
    const epoch = this.epoch;
    if (!epoch) return;
    epoch.unreportedBytes = 0;
    epoch.safeAckDue = false;
    const others = this.others();
    if (others.length > 0) {
      this.sendFrame(others, { kind: 'digest', viewId: epoch.view.viewId, received: epoch.received(), frozen: this.frozen });
    }
    epoch.collectGarbage();
  }

  // ---------------------------------------------------------------- delivery

  private deliverReady(): void {
    const epoch = this.epoch;
    if (!epoch || this.frozen || this.phase !== 'member') return;
    const ready = epoch.takeDeliverable();
    for (let i = 0; i < ready.length; i++) this.deliver(epoch, ready[i]!);
  }

  private deliver(epoch: Epoch, message: Message): void {
    const sender = epoch.view.members[message.senderIndex]!;
    const viewId = epoch.view.viewId;
    const parts = message.parts;
    if (parts) {
      for (let i = 0; i < parts.length; i++) this.emit(new DeliverUpcall(viewId, sender, message.order, parts[i]!, message.firstSeqno, i));
    } else if (message.packed) {
      forEachPacked(message.payload, (part, i) => this.emit(new DeliverUpcall(viewId, sender, message.order, part, message.firstSeqno, i)));
    } else {
      this.emit(new DeliverUpcall(viewId, sender, message.order, message.payload, message.firstSeqno, -1));
    }
    // Its frame's reference (epoch.ts), once the runtime has the deliveries; a delivery held back
    // for later keeps it (left to the collector).
    if (!this.heldUpcalls) this.releases.add(message.payload);
  }

  // ---------------------------------------------------------------- retransmission

  private onNak(from: MemberId, frame: FrameOf<'nak'>): void {
    this.serveNak(this.epoch!, from, frame);
  }

  private serveNak(epoch: Epoch, from: MemberId, frame: FrameOf<'nak'>): void {
    if (frame.toSeqno < frame.fromSeqno) return;
    const frames = epoch.stored(frame.senderIndex, frame.fromSeqno, frame.toSeqno, MAX_NAK_UNITS);
    for (const bytes of frames) this.sendBytes([from], bytes);
    this.stats.retransmitsSent += frames.length;
  }

  private housekeeping(): void {
    const epoch = this.epoch!;
    // A member in the minority whose view-mates are gone hears from nobody: it asks its contacts
    // whether the group went on without it (a discoverReply then tells it to rejoin).
    if (this.phase === 'minority' && this.nowMs >= this.probeAtMs) {
      this.probeAtMs = this.nowMs + this.options.discoveryMs;
      const outside = this.contacts.filter((contact) => !epoch.view.members.includes(contact));
      if (outside.length > 0) this.sendFrame(outside, { kind: 'discover', coordinator: '' });
    }
    // A joiner cut off from every member that holds the state waits (a partition may heal, and
    // the old members may need it for their quorum), but not for ever: if they all crashed, the
    // state is gone and it must join afresh.
    const goneSinceMs = this.stateHoldersGoneSinceMs;
    if (this.receiver && goneSinceMs !== undefined && this.nowMs - goneSinceMs > this.joinerPatienceMs()) {
      this.exclude('every member holding the state is unreachable');
      return;
    }
    // NAK every known gap: to the sender, or during a flush (or when the sender is suspected) to
    // a member known to hold the units.
    // What others say they hold of a sender is asked for only once the sender is suspected or the
    // view is flushing; until then the sender itself, still talking, tells of its own gaps.
    const flushing = this.frozen || this.round !== undefined || this.accepted !== undefined || this.pendingView !== undefined;
    const members = epoch.view.members;
    for (const gap of epoch.gaps(MAX_NAK_UNITS, (sender) => flushing || this.fd.suspects.has(members[sender]!), MAX_NAK_RANGES)) {
      const target = this.nakTarget(epoch, gap.senderIndex, gap.to);
      if (target === this.self) continue;
      this.sendFrame([target], { kind: 'nak', viewId: epoch.view.viewId, ...gap, fromSeqno: gap.from, toSeqno: gap.to });
      this.stats.naksSent++;
    }
    if (this.round && this.nowMs >= this.round.deadlineMs) this.round = undefined;
    this.retransmitRound(epoch);
    if (this.viewAcksPending.size > 0 && this.viewFrame) {
      const stillMembers = [...this.viewAcksPending].filter((member) => epoch.view.members.includes(member));
      this.viewAcksPending = new Set(stillMembers);
      this.sendBytes(stillMembers, this.viewFrame);
    }
    if (this.leaving && this.phase === 'member') this.requestLeave();
    if (this.receiver) this.requestState(this.receiver);
    // A joiner's xferDone may be lost: probe joiners of a silent transfer, and they answer again.
    for (const provider of this.providers.values()) {
      if (!provider.state || this.nowMs - provider.lastActivityMs < this.options.heartbeatMs * 4) continue;
      provider.lastActivityMs = this.nowMs;
      this.sendFrame([...provider.joiners], { kind: 'xferWait', viewId: provider.viewId });
    }
  }

  private joinerPatienceMs(): number {
    return this.options.suspectAfterMs * 8 + this.options.flushTimeoutMs * 2;
  }

  private nakTarget(epoch: Epoch, senderIndex: number, upTo: number): MemberId {
    const members = epoch.view.members;
    const holderIndex = (this.pendingView?.frame.proposal ?? this.accepted?.proposal)?.holders[senderIndex];
    if (holderIndex !== undefined && members[holderIndex]) return members[holderIndex]!;
    const sender = members[senderIndex]!;
    if (!this.fd.suspects.has(sender)) return sender;
    const best = epoch.digests.best(senderIndex);
    return best.seqno >= upTo ? members[best.holder]! : sender;
  }

  // ---------------------------------------------------------------- membership

  private actingCoordinator(): MemberId {
    const members = this.epoch!.view.members;
    return members.find((member) => !this.fd.suspects.has(member)) ?? this.self;
  }

  private aliveMembers(): MemberId[] {
    return this.epoch!.view.members.filter((member) => !this.fd.suspects.has(member));
  }

  private onSuspicion(): void {
    const view = this.epoch!.view;
    if (this.receiver && this.stateHoldersGoneSinceMs === undefined && this.fd.suspects.has(this.receiver.provider)) {
      this.stateHoldersGoneSinceMs = this.nowMs;
    }
    if (!isQuorum(this.aliveMembers(), view.members, this.carried)) {
      if (this.phase === 'member') {
        this.phase = 'minority';
        this.round = undefined;
        this.emit({ type: 'minority', view });
      }
      return;
    }
    // A participant of the running round died: start over without it.
    if (this.round && [...this.round.participants].some((member) => this.fd.suspects.has(member))) this.round = undefined;
  }

  private maybeStartRound(): void {
    const epoch = this.epoch!;
    // Asked after every input: the common case (nothing to change) allocates and scans nothing.
    if (this.round || this.phase !== 'member' || this.nowMs < this.roundBackoffUntilMs) return;
    const mayBeStale = this.frozen || this.frozenSinceMs.size > 0;
    if (this.fd.suspects.size === 0 && this.pendingJoins.size === 0 && this.pendingLeaves.size === 0 && !mayBeStale) return;
    if (this.actingCoordinator() !== this.self) return;
    const members = epoch.view.members;
    const suspectsInView = members.some((member) => this.fd.suspects.has(member));
    if (!suspectsInView && this.pendingJoins.size === 0 && this.pendingLeaves.size === 0 && !(mayBeStale && this.staleFreeze())) return;
    const alive = this.aliveMembers();
    if (!isQuorum(alive, members, this.carried)) return;
    const ballot: Ballot = { attempt: this.maxAttemptSeen + 1, coordinator: epoch.selfIndex };
    this.maxAttemptSeen = ballot.attempt;
    this.round = {
      ballot,
      phase: 'promise',
      participants: new Set(alive),
      promises: new Map(),
      oks: new Set(),
      proposal: undefined,
      deadlineMs: this.nowMs + this.options.flushTimeoutMs,
    };
    this.sendFrame(alive, { kind: 'flushStart', viewId: epoch.view.viewId, ballot });
  }

  /**
   * Whether this member or a live member of its view has been frozen for staleFreezeMs() while
   * this member, their coordinator, runs no round: the round they promised was given up (by a
   * member that took itself for the coordinator while cut off, then rejoined the majority), and
   * without a new view they would never send or deliver again. The coordinator's round, even one
   * that changes nothing, ends the freeze with a new view.
   */
  private staleFreeze(): boolean {
    // Longer than any round runs (a round of another coordinator, one that suspects this member,
    // is not to be disturbed): a stale freeze lasts for ever, so waiting costs little.
    const since = this.nowMs - this.staleFreezeMs();
    if (this.frozen && this.frozenAtMs <= since) return true;
    for (const [member, frozenMs] of this.frozenSinceMs) {
      // Only members of the view send it digests, and a new view clears the map.
      if (frozenMs <= since && !this.fd.suspects.has(member)) return true;
    }
    return false;
  }

  private staleFreezeMs(): number {
    return 2 * (this.options.suspectAfterMs + this.options.flushTimeoutMs);
  }

  /** A lost flush frame costs a retransmission interval, not a whole new ballot. */
  private retransmitRound(epoch: Epoch): void {
    const round = this.round;
    if (!round) return;
    const viewId = epoch.view.viewId;
    if (round.phase === 'promise') {
      const silent = [...round.participants].filter((member) => !round.promises.has(member));
      this.sendFrame(silent, { kind: 'flushStart', viewId, ballot: round.ballot });
    } else {
      const silent = [...round.participants].filter((member) => !round.oks.has(member));
      this.sendFrame(silent, { kind: 'flushAccept', viewId, ballot: round.ballot, proposal: round.proposal! });
    }
  }

  private isCurrentRound(ballot: Ballot, phase: Round['phase']): Round | undefined {
    const round = this.round;
    return round && round.phase === phase && compareBallots(round.ballot, ballot) === 0 ? round : undefined;
  }

  private onFlushPromise(from: MemberId, frame: FrameOf<'flushPromise'>): void {
    const round = this.isCurrentRound(frame.ballot, 'promise');
    const epoch = this.epoch!;
    if (!round || !round.participants.has(from)) return;
    if (frame.received.length !== epoch.view.members.length) {
      this.stats.droppedMalformed++;
      return;
    }
    round.promises.set(from, frame);
    if (round.promises.size < round.participants.size) return;
    const members = epoch.view.members;
    const staying = members.filter((member) => round.participants.has(member) && !this.pendingLeaves.has(member));
    const proposal = chooseProposal(members, round.promises, staying, [...this.pendingJoins]);
    if (!proposal) {
      // Every member that stays is still waiting for a state whose holders are all gone (or cut
      // off). Ending the view would strand those holders without a quorum if they are alive: wait
      // (a partition may heal); joiners give up on their own if the holders stay gone.
      this.round = undefined;
      this.roundBackoffUntilMs = this.nowMs + this.options.flushTimeoutMs;
      return;
    }
    round.proposal = proposal;
    round.phase = 'accept';
    this.sendFrame([...round.participants], { kind: 'flushAccept', viewId: epoch.view.viewId, ballot: round.ballot, proposal: round.proposal });
  }

  private onFlushOk(from: MemberId, frame: FrameOf<'flushOk'>): void {
    const round = this.isCurrentRound(frame.ballot, 'accept');
    if (!round || !round.participants.has(from)) return;
    round.oks.add(from);
    if (round.oks.size < round.participants.size) return;
    const epoch = this.epoch!;
    const proposal = round.proposal!;
    this.round = undefined;
    for (const member of proposal.members) this.pendingJoins.delete(member);
    for (const member of [...this.pendingLeaves]) if (!proposal.members.includes(member)) this.pendingLeaves.delete(member);
    const viewFrame: FrameOf<'view'> = { kind: 'view', viewId: epoch.view.viewId, oldMembers: epoch.view.members, proposal };
    const bytes = encodeFrame(this.group, viewFrame);
    const recipients = [...new Set([...proposal.members, ...round.participants])];
    this.viewAcksPending = new Set(proposal.members.filter((member) => member !== this.self));
    this.sendBytes(recipients, bytes);
    this.loopback.push({ from: this.self, frame: viewFrame, bytes });
  }

  private onFlushStart(from: MemberId, frame: FrameOf<'flushStart'>): void {
    const epoch = this.epoch!;
    this.maxAttemptSeen = Math.max(this.maxAttemptSeen, frame.ballot.attempt);
    if (epoch.view.members[frame.ballot.coordinator] !== from) {
      this.stats.droppedMalformed++;
      return;
    }
    if (!this.promise(from, frame.ballot)) return;
    if (this.round && compareBallots(this.round.ballot, frame.ballot) < 0) this.round = undefined;
    const accepted = this.accepted;
    this.sendFrame([from], {
      kind: 'flushPromise',
      viewId: epoch.view.viewId,
      ballot: frame.ballot,
      received: epoch.received(),
      stateFrom: this.receiver?.provider ?? '',
      accepted: accepted?.ballot,
      completed: accepted?.complete ? { ballot: accepted.ballot, proposal: accepted.proposal } : undefined,
    });
  }

  /**
   * Takes part in the flush of `ballot` unless a higher ballot was promised (then the proposer is
   * told so): from here on this member neither sends nor delivers in the view.
   */
  private promise(from: MemberId, ballot: Ballot): boolean {
    if (this.promised && compareBallots(ballot, this.promised) < 0) {
      this.sendFrame([from], { kind: 'flushReject', viewId: this.epoch!.view.viewId, promised: this.promised });
      return false;
    }
    this.promised = ballot;
    this.freeze();
    return true;
  }

  private freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    this.frozenAtMs = this.nowMs;
    this.emit({ type: 'block' });
  }

  private onFlushAccept(from: MemberId, frame: FrameOf<'flushAccept'>): void {
    const epoch = this.epoch!;
    const n = epoch.view.members.length;
    const proposal = frame.proposal;
    if (
      epoch.view.members[frame.ballot.coordinator] !== from ||
      proposal.cut.length !== n ||
      proposal.holders.some((holder) => holder >= n)
    ) {
      this.stats.droppedMalformed++;
      return;
    }
    if (!this.promise(from, frame.ballot)) return;
    if (this.accepted && compareBallots(this.accepted.ballot, frame.ballot) === 0) {
      if (this.accepted.complete) this.sendFrame([from], { kind: 'flushOk', viewId: epoch.view.viewId, ballot: frame.ballot });
      return;
    }
    this.accepted = { ballot: frame.ballot, proposal, complete: false };
    proposal.cut.forEach((seqno, sender) => epoch.streams[sender]!.learnMax(seqno));
  }

  private holdsCut(cut: readonly number[]): boolean {
    const received = this.epoch!.received();
    return cut.every((seqno, sender) => received[sender]! >= seqno);
  }

  private checkAcceptComplete(): void {
    const accepted = this.accepted;
    if (!accepted || accepted.complete || !this.holdsCut(accepted.proposal.cut)) return;
    accepted.complete = true;
    if (this.promised && compareBallots(accepted.ballot, this.promised) === 0) {
      const coordinator = this.epoch!.view.members[accepted.ballot.coordinator]!;
      this.sendFrame([coordinator], { kind: 'flushOk', viewId: this.epoch!.view.viewId, ballot: accepted.ballot });
    }
  }

  private onView(from: MemberId, frame: FrameOf<'view'>, bytes: Uint8Array): void {
    const proposal = frame.proposal;
    const newViewId = frame.viewId + 1;
    const epoch = this.epoch;
    const inNewView = proposal.members.includes(this.self);
    if (this.phase === 'joining' || this.phase === 'discovering') {
      // A view whose old members include this joiner means a view it never installed went by: it
      // cannot enter there with a consistent state, so it waits to be dropped and joins afresh.
      if (!inNewView || frame.oldMembers.length === 0 || frame.oldMembers.includes(this.self)) return;
      if (!frame.oldMembers.includes(from) && proposal.members[0] !== from) return;
      this.withdrawCandidacy();
      const view: View = { group: this.group, viewId: newViewId, members: proposal.members };
      const joined = proposal.members.filter((member) => !frame.oldMembers.includes(member));
      this.install(view, bytes, joined, frame.oldMembers.filter((member) => !proposal.members.includes(member)));
      this.sendFrame([from], { kind: 'viewAck', viewId: newViewId });
      this.receiver = new StateReceiver(newViewId, proposal.members[0]!, this.xferChunkBytes(), this.options.maxMessageBytes * 4);
      this.heldUpcalls = [];
      this.requestState(this.receiver);
      return;
    }
    if (!epoch || (this.phase !== 'member' && this.phase !== 'minority')) return;
    const viewId = epoch.view.viewId;
    if (frame.viewId < viewId) {
      if (inNewView) this.sendFrame([from], { kind: 'viewAck', viewId: newViewId });
      return;
    }
    if (!frame.oldMembers.includes(from) || !sameMembers(frame.oldMembers, epoch.view.members)) {
      this.stats.droppedNonMember++;
      return;
    }
    if (frame.viewId > viewId) {
      this.exclude(`missed view ${viewId + 1}`);
      return;
    }
    if (proposal.cut.length !== epoch.view.members.length) {
      this.stats.droppedMalformed++;
      return;
    }
    if (!this.holdsCut(proposal.cut)) {
      // Fetch what is missing from the holders first (checkPendingView finishes the install).
      this.pendingView = { from, frame, bytes };
      proposal.cut.forEach((seqno, sender) => epoch.streams[sender]!.learnMax(seqno));
      this.freeze();
      return;
    }
    this.endView(from, frame, bytes);
  }

  private checkPendingView(): void {
    const pending = this.pendingView;
    if (pending && this.holdsCut(pending.frame.proposal.cut)) this.endView(pending.from, pending.frame, pending.bytes);
  }

  /** Delivers the rest of the old view up to the cut, hands state to joiners, installs the new view. */
  private endView(from: MemberId, frame: FrameOf<'view'>, bytes: Uint8Array): void {
    const epoch = this.epoch!;
    const proposal = frame.proposal;
    invariant(this.holdsCut(proposal.cut), 'ending a view without holding its cut');
    this.pendingView = undefined;
    this.phase = 'member';
    for (const message of epoch.finish(proposal.cut)) this.deliver(epoch, message);
    const newViewId = frame.viewId + 1;
    if (!proposal.members.includes(this.self)) {
      const outcome = this.leaving ? 'left' : 'excluded';
      const pending = from === this.self ? [...this.viewAcksPending] : [];
      if (pending.length === 0) {
        this.finishAs(outcome);
        return;
      }
      // The coordinator leaving its own view: nobody else may hold the view frame yet, so it stays
      // until every new member has acknowledged it (or suspicion would have removed them anyway).
      this.phase = 'handoff';
      this.handoff = { bytes, pending: new Set(pending), untilMs: this.nowMs + this.options.suspectAfterMs, outcome, nextMs: this.nowMs + this.options.retransmitMs };
      return;
    }
    const joined = proposal.members.filter((member) => !epoch.view.members.includes(member));
    if (joined.length > 0 && proposal.members[0] === this.self) {
      this.providers.set(newViewId, new StateProvider(newViewId, new Set(joined), this.xferChunkBytes(), this.nowMs));
      this.emit({ type: 'saveState', xferId: String(newViewId) });
    }
    const left = epoch.view.members.filter((member) => !proposal.members.includes(member));
    this.install({ group: this.group, viewId: newViewId, members: proposal.members }, bytes, joined, left);
    if (this.phase === 'member' && from !== this.self) this.sendFrame([from], { kind: 'viewAck', viewId: newViewId });
  }

  private install(view: View, viewFrame: Uint8Array, joined: readonly MemberId[], left: readonly MemberId[]): void {
    const selfIndex = view.members.indexOf(this.self);
    invariant(selfIndex >= 0, 'installing a view without this member');
    const maxAheadUnits = Math.max(1024, Math.ceil((this.options.flowWindowBytes * 2) / 256));
    const previous = this.epoch;
    const waiting = previous ? view.members.filter((member) => member !== this.self && previous.view.members.includes(member)) : [];
    this.previous = previous && waiting.length > 0 ? { epoch: previous, waiting: new Set(waiting) } : undefined;
    this.epoch = new Epoch(this.group, view, selfIndex, maxAheadUnits, this.headroomBytes, this.releases);
    // Kept for the whole view: bytes of its own, not a view pinning a pooled slab of frames.
    this.viewFrame = viewFrame.slice();
    this.carried = view.members.filter((member) => !joined.includes(member));
    this.phase = 'member';
    this.promised = undefined;
    this.accepted = undefined;
    this.round = undefined;
    this.frozen = false;
    this.frozenSinceMs.clear();
    this.maxAttemptSeen = 0;
    this.fd.reset(view.members, this.self, this.nowMs);
    this.heartbeatAtMs = this.nowMs;
    this.housekeepingAtMs = this.nowMs + this.options.retransmitMs;
    this.catchUpSentMs.clear();
    this.stats.viewChanges++;
    for (const member of [...this.pendingJoins]) if (view.members.includes(member)) this.pendingJoins.delete(member);
    for (const member of [...this.pendingLeaves]) if (!view.members.includes(member)) this.pendingLeaves.delete(member);
    for (const [viewId, provider] of this.providers) {
      for (const joiner of [...provider.joiners]) if (!view.members.includes(joiner)) provider.joiners.delete(joiner);
      if (provider.joiners.size === 0) this.providers.delete(viewId);
    }
    // Sends cut short by the flush start over, whole, in the new view.
    for (const entry of this.sendQueue) entry.chunkCount = 0;
    this.emit({ type: 'view', view, joined: [...joined], left: [...left] });
    if (this.leaving) this.requestLeave();
    const future = this.futureFrames;
    this.futureFrames = [];
    for (const { from, bytes } of future) {
      try {
        this.dispatch(from, decodeFrame(bytes, this.options.maxMessageBytes).frame, bytes);
      } catch {
        this.stats.droppedMalformed++;
      }
    }
  }

  private onViewRequest(from: MemberId, frame: FrameOf<'viewRequest'>): void {
    const epoch = this.epoch;
    if (!epoch || this.phase !== 'member' || frame.viewId >= epoch.view.viewId) return;
    if (epoch.view.members.includes(from) && frame.viewId === epoch.view.viewId - 1 && this.viewFrame) {
      this.sendBytes([from], this.viewFrame);
    } else if (!epoch.view.members.includes(from)) {
      this.sendFrame([from], { kind: 'notMember', viewId: epoch.view.viewId });
    }
  }

  private exclude(reason: string): void {
    this.finishAs('excluded', reason);
  }

  private finishAs(phase: 'left' | 'excluded', reason = 'excluded from the view'): void {
    if (this.phase === 'left' || this.phase === 'excluded') return;
    const cutOff = phase === 'excluded' && this.leaving;
    if (cutOff) phase = 'left';
    this.phase = phase;
    this.sendQueue.length = 0;
    this.queuedBytes = 0;
    this.round = undefined;
    this.receiver = undefined;
    this.loopback.length = 0;
    // A joiner that never got its state must not hand the app its held upcalls.
    this.heldUpcalls = undefined;
    this.upcalls.push(phase === 'left' ? { type: 'left', cutOff } : { type: 'excluded', reason });
  }

  // ---------------------------------------------------------------- state transfer

  private xferChunkBytes(): number {
    return this.options.mtuBytes - 64 - encodeUtf8(this.group).length;
  }

  private requestState(receiver: StateReceiver): void {
    const chunks = receiver.requests(this.nowMs, XFER_WINDOW_CHUNKS, this.options.retransmitMs * 4);
    if (chunks.length > 0) this.sendFrame([receiver.provider], { kind: 'xferRequest', viewId: receiver.viewId, chunks });
  }

  private onXferRequest(from: MemberId, frame: FrameOf<'xferRequest'>): void {
    const provider = this.providers.get(frame.viewId);
    if (!provider || !provider.joiners.has(from)) {
      this.stats.droppedNonMember++;
      return;
    }
    provider.lastActivityMs = this.nowMs;
    const state = provider.state;
    if (!state) {
      this.sendFrame([from], { kind: 'xferWait', viewId: frame.viewId });
      return;
    }
    for (const index of frame.chunks) {
      const data = provider.chunk(index);
      if (data) this.sendFrame([from], { kind: 'xferChunk', viewId: frame.viewId, index, stateBytes: state.length, data });
    }
  }

  private onXferReply(from: MemberId, frame: FrameOf<'xferChunk'> | FrameOf<'xferWait'>): void {
    const receiver = this.receiver;
    if (!receiver || receiver.viewId !== frame.viewId || receiver.provider !== from) {
      this.stats.droppedStale++;
      const view = this.epoch?.view;
      if (!receiver && view && this.phase === 'member' && frame.viewId <= view.viewId && view.members.includes(from)) {
        this.sendFrame([from], { kind: 'xferDone', viewId: frame.viewId });
      }
      return;
    }
    if (frame.kind === 'xferWait') return;
    const state = receiver.accept(frame.index, frame.stateBytes, frame.data);
    if (state === false) {
      this.stats.droppedMalformed++;
      return;
    }
    if (!state) {
      this.requestState(receiver);
      return;
    }
    this.receiver = undefined;
    this.sendFrame([from], { kind: 'xferDone', viewId: frame.viewId });
    const held = this.heldUpcalls ?? [];
    this.heldUpcalls = undefined;
    this.upcalls.push({ type: 'loadState', state }, ...held);
  }
}

function sameMembers(a: readonly MemberId[], b: readonly MemberId[]): boolean {
  return a.length === b.length && a.every((member, index) => member === b[index]);
}
