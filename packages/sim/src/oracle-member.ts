/**
 * An idealised group behind the Member contract: one shared oracle that sees every member at once,
 * delivers every multicast atomically to the whole view in one global order, detects crashes
 * perfectly (a member that stops ticking) and ignores the network. It is correct by construction,
 * so a run over it must report no violation: it is how the runner and the checkers are shown to
 * raise no false alarm. `dropEvery` breaks it on purpose, to show a run does catch a broken group.
 */
import {
  SynodError,
  type MemberConfig,
  type MemberId,
  type MemberStats,
  type Order,
  type Output,
  type Upcall,
  type View,
} from '@synod/core';
import type { MemberLike } from './member-like.js';

const TICK_MS = 5;
const FAILED_AFTER_MS = 100;

export interface OracleOptions {
  /** Withhold every n-th delivery from its receiver (never the sender): a deliberately lossy group. */
  readonly dropEvery?: number;
}

interface Transfer {
  readonly xferId: string;
  readonly provider: OracleMember;
}

export class Oracle {
  private view: View | undefined;
  private readonly members = new Map<MemberId, OracleMember>();
  private readonly joining: OracleMember[] = [];
  private readonly leaving = new Set<OracleMember>();
  private transfer: Transfer | undefined;
  private readonly held: { from: OracleMember; order: Order; payload: Uint8Array; localId: number }[] = [];
  private nextSeqno = new Map<MemberId, number>();
  private transfers = 0;
  private deliveries = 0;

  constructor(
    readonly group: string,
    private readonly options: OracleOptions = {},
  ) {}

  readonly createMember = (config: MemberConfig): MemberLike => new OracleMember(this, config.self);

  currentView(member: OracleMember): View | undefined {
    return this.view !== undefined && this.members.get(member.self) === member ? this.view : undefined;
  }

  join(member: OracleMember, nowMs: number): void {
    this.joining.push(member);
    this.poll(nowMs);
  }

  leave(member: OracleMember, nowMs: number): void {
    if (this.members.get(member.self) === member) this.leaving.add(member);
    this.poll(nowMs);
  }

  send(member: OracleMember, order: Order, payload: Uint8Array, localId: number): void {
    if (this.currentView(member) === undefined) throw new SynodError('NOT_JOINED', `${member.self} is not in the view`);
    if (this.transfer !== undefined || this.leaving.size > 0) this.held.push({ from: member, order, payload, localId });
    else this.multicast(member, order, payload, localId);
  }

  provide(xferId: string, state: Uint8Array, nowMs: number): void {
    if (this.transfer?.xferId !== xferId) throw new SynodError('UNKNOWN_XFER', `no transfer ${xferId}`);
    this.transfer = undefined;
    this.changeView(nowMs, state);
  }

  /** Runs on every input of every member: notices crashes and starts the next view change. */
  poll(nowMs: number): void {
    if (this.transfer !== undefined && this.stale(this.transfer.provider, nowMs)) this.transfer = undefined;
    if (this.transfer === undefined) this.changeView(nowMs, undefined);
  }

  private stale(member: OracleMember, nowMs: number): boolean {
    return nowMs - member.lastSeenMs > FAILED_AFTER_MS;
  }

  private changeView(nowMs: number, state: Uint8Array | undefined): void {
    for (let i = this.joining.length - 1; i >= 0; i--) {
      if (this.stale(this.joining[i] as OracleMember, nowMs)) this.joining.splice(i, 1);
    }
    if (this.view === undefined) {
      const founder = this.joining.shift();
      if (founder === undefined) return;
      this.members.set(founder.self, founder);
      this.install([founder.self], [founder.self], []);
      return;
    }
    const current = this.view.members.map((id) => this.members.get(id) as OracleMember);
    const failed = current.filter((m) => this.stale(m, nowMs));
    const survivors = current.filter((m) => !failed.includes(m) && !this.leaving.has(m));
    if (failed.length === 0 && this.leaving.size === 0 && this.joining.length === 0) return;
    const joiners = survivors.length > 0 ? [...this.joining] : [];
    if (joiners.length > 0 && state === undefined) {
      const provider = survivors[0] as OracleMember;
      const xferId = `x${++this.transfers}`;
      this.transfer = { xferId, provider };
      for (const member of survivors) member.out.push({ type: 'block' });
      provider.out.push({ type: 'saveState', xferId });
      return;
    }
    this.joining.length = 0;
    for (const member of [...failed, ...this.leaving]) {
      this.members.delete(member.self);
      if (this.leaving.has(member)) member.out.push({ type: 'left', cutOff: false });
    }
    this.leaving.clear();
    for (const joiner of joiners) this.members.set(joiner.self, joiner);
    const left = [...failed, ...current.filter((m) => !failed.includes(m) && !survivors.includes(m))];
    this.install(
      [...survivors, ...joiners].map((m) => m.self),
      joiners.map((m) => m.self),
      left.map((m) => m.self),
      state,
    );
  }

  private install(members: MemberId[], joined: MemberId[], left: MemberId[], state?: Uint8Array): void {
    this.view = { group: this.group, viewId: (this.view?.viewId ?? 0) + 1, members };
    this.nextSeqno = new Map();
    for (const id of members) {
      const member = this.members.get(id) as OracleMember;
      member.out.push({ type: 'view', view: this.view, joined, left });
      if (state !== undefined && joined.includes(id)) member.out.push({ type: 'loadState', state: state.slice() });
    }
    const held = this.held.splice(0);
    for (const message of held) {
      if (this.members.get(message.from.self) === message.from) {
        this.multicast(message.from, message.order, message.payload, message.localId);
      }
    }
  }

  private multicast(from: OracleMember, order: Order, payload: Uint8Array, localId: number): void {
    const view = this.view as View;
    const seqno = (this.nextSeqno.get(from.self) ?? 0) + 1;
    this.nextSeqno.set(from.self, seqno);
    const id = `${from.self}:${view.viewId}:${seqno}`;
    from.out.push({ type: 'sent', localId, id });
    for (const memberId of view.members) {
      const member = this.members.get(memberId) as OracleMember;
      const drop = this.options.dropEvery !== undefined && member !== from && ++this.deliveries % this.options.dropEvery === 0;
      if (!drop) member.out.push({ type: 'deliver', viewId: view.viewId, sender: from.self, order, id, seqno, part: -1, payload });
    }
  }
}

class OracleMember implements MemberLike {
  readonly stats: MemberStats = {
    droppedMalformed: 0,
    droppedNonMember: 0,
    droppedStale: 0,
    retransmitsSent: 0,
    naksSent: 0,
    viewChanges: 0,
    packedMessages: 0,
  };
  readonly out: Upcall[] = [];
  lastSeenMs = 0;
  private localIds = 0;

  constructor(
    private readonly oracle: Oracle,
    readonly self: MemberId,
  ) {}

  get view(): View | undefined {
    return this.oracle.currentView(this);
  }

  join(_contacts: readonly MemberId[], nowMs: number): void {
    this.lastSeenMs = nowMs;
    this.oracle.join(this, nowMs);
  }

  send(order: Order, payload: Uint8Array, nowMs: number): number {
    this.touch(nowMs);
    const localId = ++this.localIds;
    this.oracle.send(this, order, payload.slice(), localId);
    return localId;
  }

  leave(nowMs: number): void {
    this.touch(nowMs);
    this.oracle.leave(this, nowMs);
  }

  receive(_from: MemberId, _bytes: Uint8Array, nowMs: number): void {
    this.stats.droppedNonMember++;
    this.touch(nowMs);
  }

  linkDown(_peer: MemberId, nowMs: number): void {
    this.touch(nowMs);
  }

  tick(nowMs: number): void {
    this.touch(nowMs);
  }

  provideState(xferId: string, state: Uint8Array, nowMs: number): void {
    this.touch(nowMs);
    this.oracle.provide(xferId, state.slice(), nowMs);
  }

  takeOutput(): Output {
    return { sends: [], upcalls: this.out.splice(0), wakeAtMs: this.lastSeenMs + TICK_MS };
  }

  bufferedBytes(): number {
    return 0;
  }

  private touch(nowMs: number): void {
    this.lastSeenMs = nowMs;
    this.oracle.poll(nowMs);
  }
}
