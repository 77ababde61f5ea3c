/**
 * The runner: nodes (process slots) running member incarnations on the virtual clock, the
 * simulated network between them, and each incarnation's simulated app. It drives members exactly
 * as the contract says (input, then drain takeOutput, datagrams out, upcalls in order, tick at
 * wakeAtMs) and offers the operations the fault schedule uses: crash, restart, join, leave,
 * partition. Everything is deterministic in the seed.
 */
import { SynodError, setFramePoolChecks, type MemberId, type Order } from '@synod/core';
import { SimApp, type AppAction } from './app.js';
import type { Violation } from './checkers.js';
import { EventQueue } from './event-queue.js';
import type { MemberHistory } from './history.js';
import type { MemberFactory, MemberLike, MemberTiming } from './member-like.js';
import { Network, type NetworkKnobs } from './network.js';
import { Prng } from './prng.js';
import { primaryBlock } from './quorum.js';

// The frame pool's checks: a slab per frame, poisoned at its last release and never used again, so
// a frame read after the member gave it back reads junk and the run fails (core frames.ts).
setFramePoolChecks(true);

export interface WorkloadKnobs {
  /** Mean time between two messages composed by one member. */
  meanIntervalMs: number;
  orderWeights: Readonly<Record<Order, number>>;
  /** Probability that a message is 1–8 KiB. */
  mediumRate: number;
  /** Probability that a message is larger than the MTU (16–48 KiB): fragmentation. */
  largeRate: number;
  /** The app composes nothing while this many of its messages wait for send() to accept them. */
  maxPending: number;
  /** Probability that the app composes 2–8 messages at once (one drain: the core packs them). */
  burstRate: number;
}

export interface AppKnobs {
  /** Hand the state snapshot back after a random delay (an async app) instead of at once. */
  asyncSaveState: boolean;
  maxSaveDelayMs: number;
  /** Extra bytes in every state snapshot, to exercise chunked state transfer. */
  statePaddingBytes: number;
  /** Delay before an excluded member rejoins under a new id. */
  rejoinDelayMs: number;
}

export interface ClusterOptions {
  readonly seed: number;
  readonly group: string;
  readonly timing: MemberTiming;
  readonly network: Partial<NetworkKnobs>;
  readonly workload: WorkloadKnobs;
  readonly app: AppKnobs;
  readonly createMember: MemberFactory;
}

export interface Incarnation {
  readonly id: MemberId;
  readonly node: SimNode;
  readonly member: MemberLike;
  readonly app: SimApp;
  /** Whom it was told to join through (at join, then by the rendezvous). */
  contacts: readonly MemberId[];
  /** The contacts given at join time: a configured seed list, never dropped by a refresh. */
  readonly initialContacts: readonly MemberId[];
  alive: boolean;
  retryScheduled: boolean;
  wakeAtMs: number | undefined;
  wakeGeneration: number;
}

export interface SimNode {
  readonly index: number;
  incarnations: number;
  current: Incarnation | undefined;
  /** The node should end up running: a restart or rejoin is pending or it is up. */
  wantsUp: boolean;
  /** After its 'left' upcall, the node rejoins after this delay (undefined: stays away). */
  returnAfterLeaveMs: number | undefined;
}

export interface ClusterCounters {
  crashes: number;
  restarts: number;
  joins: number;
  leaves: number;
  exclusions: number;
  partitions: number;
  backpressure: number;
  notJoined: number;
  staleXfers: number;
}

export class Cluster {
  readonly queue = new EventQueue();
  readonly network: Network;
  readonly nodes: SimNode[] = [];
  readonly histories: MemberHistory[] = [];
  readonly violations: Violation[] = [];
  readonly counters: ClusterCounters = {
    crashes: 0,
    restarts: 0,
    joins: 0,
    leaves: 0,
    exclusions: 0,
    partitions: 0,
    backpressure: 0,
    notJoined: 0,
    staleXfers: 0,
  };
  /** What the fault schedule and the runner did, in order: the first thing to read on a failure. */
  readonly timeline: { atMs: number; what: string }[] = [];
  /** Every view any member installed, by id (the first membership seen; checkers judge conflicts). */
  readonly views = new Map<number, readonly MemberId[]>();
  maxViewId = 0;
  workloadOn = true;
  /** Fault-schedule hooks: a flush began somewhere; a member was asked for a state snapshot. */
  onBlock: ((inc: Incarnation) => void) | undefined;
  onSaveState: ((inc: Incarnation) => void) | undefined;
  private readonly incarnations = new Map<MemberId, Incarnation>();
  private readonly prng: Prng;
  private readonly appPrng: Prng;
  /** Bursts draw from their own stream, so seeds without bursts replay as before they existed. */
  private readonly burstPrng: Prng;
  /**
   * Room the members leave before each frame (MemberConfig.frameHeadroomBytes), drawn per seed
   * from its own stream: in half the seeds, 1–40 bytes, which the runner fills with junk before
   * every send that has it, as a runtime writes its envelope there. A frame sharing bytes with that
   * room would be corrupted in the senders' and receivers' stores (the network passes references).
   */
  private readonly headroomBytes: number;

  constructor(readonly options: ClusterOptions) {
    this.prng = new Prng(options.seed);
    this.appPrng = this.prng.derive('app');
    this.burstPrng = this.prng.derive('burst');
    const headroom = this.prng.derive('headroom');
    this.headroomBytes = headroom.chance(0.5) ? headroom.int(1, 40) : 0;
    this.network = new Network(this.queue, this.prng.derive('network'), options.network, {
      deliver: (to, from, bytes) => this.input(to, 'receive', (m, now) => m.receive(from, bytes, now)),
      linkDown: (observer, peer) => this.input(observer, 'linkDown', (m, now) => m.linkDown(peer, now)),
      oversize: (from, to, sizeBytes) =>
        this.violation('mtu', `${from} sent a ${sizeBytes}-byte datagram to ${to} (MTU ${this.network.knobs.mtuBytes})`),
    });
  }

  get nowMs(): number {
    return this.queue.nowMs;
  }

  addNode(): SimNode {
    const node: SimNode = {
      index: this.nodes.length + 1,
      incarnations: 0,
      current: undefined,
      wantsUp: false,
      returnAfterLeaveMs: undefined,
    };
    this.nodes.push(node);
    return node;
  }

  incarnation(id: MemberId): Incarnation | undefined {
    return this.incarnations.get(id);
  }

  allIncarnations(): IterableIterator<Incarnation> {
    return this.incarnations.values();
  }

  upNodes(): SimNode[] {
    return this.nodes.filter((node) => node.current?.alive === true);
  }

  /** Starts a new incarnation on `node` and joins it with `contacts` (default: every live member). */
  spawn(node: SimNode, contacts?: readonly MemberId[]): Incarnation | undefined {
    if (node.current?.alive) return node.current;
    node.incarnations++;
    node.wantsUp = true;
    const id = node.incarnations === 1 ? `n${node.index}` : `n${node.index}.${node.incarnations}`;
    const random = this.prng.derive(`member:${id}`);
    const app = new SimApp(id, node.index, this.options.group, this.options.app.statePaddingBytes);
    this.histories.push(app.history);
    let member: MemberLike;
    try {
      member = this.options.createMember({
        ...this.options.timing,
        self: id,
        group: this.options.group,
        random: () => random.next(),
        ...(this.headroomBytes > 0 ? { frameHeadroomBytes: this.headroomBytes } : {}),
      });
    } catch (error) {
      app.history.fate = 'failed';
      this.violation('member-threw', `new Member(${id}) threw: ${describe(error)}`);
      node.wantsUp = false;
      return undefined;
    }
    const others = (contacts ?? this.upNodes().map((n) => (n.current as Incarnation).id)).filter((c) => c !== id);
    const inc: Incarnation = {
      id,
      node,
      member,
      app,
      contacts: others,
      initialContacts: others,
      alive: true,
      retryScheduled: false,
      wakeAtMs: undefined,
      wakeGeneration: 0,
    };
    node.current = inc;
    this.incarnations.set(id, inc);
    this.network.attach(id, node.index);
    this.input(id, 'join', (m, now) => m.join(others, now));
    this.refreshContacts();
    this.queue.after(this.appPrng.exponential(this.options.workload.meanIntervalMs), () => this.compose(inc));
    return inc;
  }

  /** The node (re)joins after `delayMs`, as soon as it can reach the group's primary partition. */
  requestJoin(node: SimNode, delayMs: number): void {
    node.wantsUp = true;
    this.queue.after(delayMs, () => this.tryJoin(node));
  }

  crash(node: SimNode, restartAfterMs?: number): void {
    const inc = node.current;
    if (inc === undefined || !inc.alive) return;
    this.counters.crashes++;
    this.note(`crash ${inc.id}${restartAfterMs === undefined ? '' : `, restart in ${restartAfterMs.toFixed(0)}ms`}`);
    this.retire(inc, 'crashed');
    node.wantsUp = false;
    if (restartAfterMs !== undefined) {
      this.counters.restarts++;
      this.requestJoin(node, restartAfterMs);
    }
  }

  leave(node: SimNode, returnAfterMs?: number): void {
    const inc = node.current;
    if (inc === undefined || !inc.alive || inc.app.status !== 'member' || inc.app.leaving) return;
    this.counters.leaves++;
    this.note(`leave ${inc.id}${returnAfterMs === undefined ? '' : `, return in ${returnAfterMs.toFixed(0)}ms`}`);
    inc.app.leaving = true;
    node.wantsUp = false;
    node.returnAfterLeaveMs = returnAfterMs;
    this.input(inc.id, 'leave', (m, now) => m.leave(now));
  }

  note(what: string): void {
    this.timeline.push({ atMs: Math.round(this.nowMs * 10) / 10, what });
  }

  violation(checker: string, message: string): void {
    this.violations.push({ checker, message: `${message} (at ${this.nowMs.toFixed(1)}ms)` });
  }

  /** Calls into a live member, then drains its output. */
  private input(id: MemberId, what: string, call: (member: MemberLike, nowMs: number) => void): void {
    const inc = this.incarnations.get(id);
    if (inc === undefined || !inc.alive) return;
    if (this.guard(inc, what, () => call(inc.member, this.nowMs))) this.drive(inc);
  }

  private drive(inc: Incarnation): void {
    let wakeAtMs: number | undefined;
    for (let round = 0; inc.alive; round++) {
      if (round > 10_000) {
        this.violation('runner', `${inc.id} kept producing output: stopped draining after ${round} rounds`);
        break;
      }
      let output;
      try {
        output = inc.member.takeOutput();
      } catch (error) {
        this.memberFailed(inc, 'takeOutput', error);
        return;
      }
      for (const send of output.sends) {
        const room = send.headroomBytes ?? 0;
        if (room > send.bytes.byteOffset) {
          this.violation('headroom', `${inc.id} claimed ${room} bytes of room before a frame at offset ${send.bytes.byteOffset}`);
        } else if (room > 0) {
          new Uint8Array(send.bytes.buffer, send.bytes.byteOffset - room, room).fill(0xa5);
        }
        this.network.send(inc.id, send.to, send.bytes);
      }
      if (output.wakeAtMs !== undefined) wakeAtMs = Math.min(wakeAtMs ?? Infinity, output.wakeAtMs);
      if (output.sends.length === 0 && output.upcalls.length === 0) break;
      for (const upcall of output.upcalls) {
        if (!inc.alive) return;
        this.perform(inc, inc.app.apply(upcall, this.nowMs));
      }
    }
    if (inc.alive && wakeAtMs !== undefined && wakeAtMs !== inc.wakeAtMs) {
      // Only the latest wake-up counts; an earlier scheduled one becomes a no-op.
      const generation = ++inc.wakeGeneration;
      inc.wakeAtMs = wakeAtMs;
      this.queue.at(wakeAtMs, () => {
        if (inc.wakeGeneration !== generation) return;
        inc.wakeAtMs = undefined;
        this.input(inc.id, 'tick', (m, now) => m.tick(now));
      });
    }
  }

  private perform(inc: Incarnation, action: AppAction): void {
    switch (action.kind) {
      case 'none':
        return;
      case 'viewInstalled': {
        if (!this.views.has(action.view.viewId)) this.views.set(action.view.viewId, [...action.view.members]);
        this.maxViewId = Math.max(this.maxViewId, action.view.viewId);
        this.scheduleFlush(inc, 0);
        return;
      }
      case 'provideState': {
        this.onSaveState?.(inc);
        const provide = (): void => {
          if (!inc.alive) return;
          try {
            inc.member.provideState(action.xferId, action.snapshot, this.nowMs);
          } catch (error) {
            // A late answer to a transfer the member abandoned (its view change moved on) is fine.
            if (error instanceof SynodError && error.code === 'UNKNOWN_XFER' && this.options.app.asyncSaveState) {
              this.counters.staleXfers++;
            } else {
              this.memberFailed(inc, 'provideState', error);
            }
          }
        };
        if (this.options.app.asyncSaveState) {
          this.queue.after(this.appPrng.real(0, this.options.app.maxSaveDelayMs), () => {
            provide();
            if (inc.alive) this.drive(inc);
          });
        } else {
          provide(); // its output is drained by the drive loop that is running
        }
        return;
      }
      case 'blocked':
        this.onBlock?.(inc);
        return;
      case 'retire': {
        this.retire(inc, action.fate);
        const node = inc.node;
        if (action.fate === 'excluded') {
          this.counters.exclusions++;
          this.note(`${inc.id} excluded`);
          this.requestJoin(node, this.appPrng.real(0, this.options.app.rejoinDelayMs));
        } else if (node.returnAfterLeaveMs !== undefined) {
          this.requestJoin(node, node.returnAfterLeaveMs);
          node.returnAfterLeaveMs = undefined;
        }
        return;
      }
      case 'error':
        this.violation('runner', action.message);
        return;
    }
  }

  private retire(inc: Incarnation, fate: 'crashed' | 'left' | 'excluded' | 'failed'): void {
    if (!inc.alive) return;
    inc.alive = false;
    inc.app.status = 'gone';
    inc.app.history.fate = fate;
    this.network.detach(inc.id);
    if (inc.node.current === inc) inc.node.current = undefined;
    this.refreshContacts();
  }

  /**
   * The rendezvous: members still joining (a view but no state yet counts: the peer runtime's
   * `ready` waits for the state too), or stuck in a minority, learn the live members whenever that
   * set changes (as a peer runtime passes its transport's live peers), on top of the contacts they
   * joined with, if the member supports updateContacts().
   */
  private refreshContacts(): void {
    const live = [...this.incarnations.values()].filter((inc) => inc.alive).map((inc) => inc.id);
    for (const inc of this.incarnations.values()) {
      const looking = inc.app.status === 'joining' || inc.app.status === 'minority' || inc.app.awaitingState;
      if (!inc.alive || !looking || inc.member.updateContacts === undefined) continue;
      const contacts = [...new Set([...inc.initialContacts, ...live])].filter((id) => id !== inc.id);
      if (contacts.join() === inc.contacts.join()) continue;
      inc.contacts = contacts;
      // Deferred: this runs inside other members' inputs.
      this.queue.after(0, () => this.input(inc.id, 'updateContacts', (m, now) => m.updateContacts?.(contacts, now)));
    }
  }

  private tryJoin(node: SimNode): void {
    if (!node.wantsUp || node.current?.alive) return;
    // A joiner that hears nobody founds a new group (the contract), so it must not start cut off
    // from the primary partition: the rendezvous only admits it once it can reach the group.
    if (this.maxViewId > 0 && primaryBlock(this) !== this.network.blockOfNode(node.index)) {
      this.queue.after(100, () => this.tryJoin(node));
      return;
    }
    this.counters.joins++;
    const inc = this.spawn(node);
    if (inc !== undefined) this.note(`join ${inc.id}`);
  }

  private compose(inc: Incarnation): void {
    if (!inc.alive || !this.workloadOn) return;
    const workload = this.options.workload;
    if (inc.app.status === 'member' && !inc.app.leaving && inc.app.pending.length < workload.maxPending) {
      const random = this.appPrng;
      const order = random.weighted(workload.orderWeights);
      const sizeBytes = random.chance(workload.largeRate)
        ? random.int(16 * 1024 + 1, 48 * 1024)
        : random.chance(workload.mediumRate)
          ? random.int(1024, 8 * 1024)
          : random.chance(0.7)
            ? random.int(0, 64)
            : random.int(64, 1024);
      inc.app.compose(order, sizeBytes);
      if (workload.burstRate > 0 && this.burstPrng.chance(workload.burstRate)) {
        const burst = this.burstPrng;
        for (let extra = burst.int(1, 7); extra > 0; extra--) {
          inc.app.compose(burst.weighted(workload.orderWeights), burst.chance(0.8) ? burst.int(0, 200) : burst.int(200, 2048));
        }
      }
      this.flush(inc);
    }
    this.queue.after(this.appPrng.exponential(workload.meanIntervalMs), () => this.compose(inc));
  }

  /** Hands pending messages to send() in order until it refuses. */
  private flush(inc: Incarnation): void {
    // A leaving app sends nothing more (what it still holds is dropped with it).
    while (inc.alive && !inc.app.leaving && inc.app.pending.length > 0) {
      const message = inc.app.pending[0] as { order: Order; payload: Uint8Array };
      let localId: number;
      try {
        localId = inc.member.send(message.order, message.payload, this.nowMs);
      } catch (error) {
        // Refusals the app must live with: full queue, not (yet, or any more) in the group.
        if (error instanceof SynodError && ['BACKPRESSURE', 'NOT_JOINED', 'EXCLUDED'].includes(error.code)) {
          if (error.code === 'BACKPRESSURE') this.counters.backpressure++;
          else this.counters.notJoined++;
          this.scheduleFlush(inc, this.appPrng.real(5, 40));
          break;
        }
        this.memberFailed(inc, 'send', error);
        return;
      }
      this.perform(inc, inc.app.accepted(localId, this.nowMs));
    }
    if (inc.alive) this.drive(inc);
  }

  private scheduleFlush(inc: Incarnation, delayMs: number): void {
    if (inc.retryScheduled || inc.app.pending.length === 0) return;
    inc.retryScheduled = true;
    this.queue.after(delayMs, () => {
      inc.retryScheduled = false;
      this.flush(inc);
    });
  }

  private guard(inc: Incarnation, what: string, call: () => void): boolean {
    try {
      call();
      return true;
    } catch (error) {
      this.memberFailed(inc, what, error);
      return false;
    }
  }

  /** A member threw where it must not: a bug. It is stopped (as a crash) so the run can go on. */
  private memberFailed(inc: Incarnation, what: string, error: unknown): void {
    this.violation('member-threw', `${inc.id}.${what}() threw: ${describe(error)}`);
    this.retire(inc, 'failed');
    inc.node.wantsUp = false;
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = error instanceof SynodError ? ` [${error.code}]` : '';
    const frame = error.stack?.split('\n').find((line) => line.includes('packages/core/')) ?? '';
    const where = frame.slice(frame.indexOf('packages/core/')).replace(/\)$/, '');
    return `${error.name}${code}: ${error.message}${frame ? ` at ${where}` : ''}`;
  }
  return String(error);
}
