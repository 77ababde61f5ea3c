/**
 * A minimal deterministic network for the core's own tests (the full simulator with faults and
 * checkers is packages/sim). Datagrams take `delayMs`; `drop` decides per datagram.
 */
import { Member, copyFrameBytes, setFramePoolChecks, type MemberConfig, type MemberId, type Send, type Upcall } from '../src/index.js';

// A frame read after the member gave it back reads junk, and the test fails (frames.ts).
setFramePoolChecks(true);

/**
 * An upcall as the log keeps it: a delivery's payload is valid only until the member's next output
 * (api.ts), so the log keeps a copy (in an upcall of the same class, whose id stays lazy).
 */
export function kept(upcall: Upcall): Upcall {
  if (upcall.type !== 'deliver') return upcall;
  return Object.assign(Object.create(Object.getPrototypeOf(upcall) as object) as Upcall, upcall, { payload: upcall.payload.slice() });
}

export interface Event {
  atMs: number;
  seq: number;
  run: () => void;
}

export class Harness {
  nowMs = 0;
  private seq = 0;
  private queue: Event[] = [];
  readonly members = new Map<MemberId, Member>();
  readonly upcalls = new Map<MemberId, Upcall[]>();
  readonly crashed = new Set<MemberId>();
  drop: (from: MemberId, to: MemberId, bytes: Uint8Array) => boolean = () => false;
  delayMs = 1;
  /** Per-destination (and sender) delay, overriding delayMs. */
  delayFor: ((to: MemberId, from: MemberId) => number) | undefined;
  states = new Map<MemberId, () => Uint8Array>();
  private randomState = 12345;
  private wakeTimers = new Map<MemberId, number>();

  random = (): number => {
    this.randomState = (this.randomState * 1103515245 + 12345) & 0x7fffffff;
    return this.randomState / 0x80000000;
  };

  add(id: MemberId, options: Partial<MemberConfig> = {}): Member {
    const member = new Member({
      self: id,
      group: 'g',
      random: this.random,
      heartbeatMs: 20,
      suspectAfterMs: 150,
      retransmitMs: 10,
      discoveryMs: 30,
      flushTimeoutMs: 300,
      ...options,
    });
    this.members.set(id, member);
    this.upcalls.set(id, []);
    return member;
  }

  at(atMs: number, run: () => void): void {
    this.queue.push({ atMs, seq: this.seq++, run });
  }

  /** Puts an output a test took itself on the network and in the upcall log. */
  transmit(id: MemberId, output: { sends: readonly Send[]; upcalls: readonly Upcall[] }): void {
    this.network(id, output.sends);
    for (const upcall of output.upcalls) this.upcalls.get(id)!.push(kept(upcall));
  }

  /** Each receiver's own copy, taken now: the sender's frame is valid until its next output (api.ts). */
  private network(id: MemberId, sends: readonly Send[]): void {
    for (const send of sends) {
      for (const to of send.to) {
        if (this.drop(id, to, send.bytes)) continue;
        const copy = copyFrameBytes(send.bytes);
        this.at(this.nowMs + (this.delayFor?.(to, id) ?? this.delayMs), () => {
          if (this.crashed.has(to) || !this.members.has(to)) return;
          this.members.get(to)!.receive(id, copy, this.nowMs);
          this.flush(to);
        });
      }
    }
  }

  /** Drains a member's output into the network and the upcall log. */
  flush(id: MemberId): void {
    const member = this.members.get(id)!;
    const output = member.takeOutput();
    this.network(id, output.sends);
    for (const upcall of output.upcalls) {
      this.upcalls.get(id)!.push(kept(upcall));
      if (upcall.type === 'saveState') {
        const state = this.states.get(id)?.() ?? new Uint8Array(0);
        member.provideState(upcall.xferId, state, this.nowMs);
        this.flush(id);
      }
    }
    if (output.wakeAtMs !== undefined && this.wakeTimers.get(id) !== output.wakeAtMs) {
      this.wakeTimers.set(id, output.wakeAtMs);
      const wakeAt = Math.max(output.wakeAtMs, this.nowMs);
      this.at(wakeAt, () => {
        if (this.crashed.has(id) || this.wakeTimers.get(id) !== output.wakeAtMs) return;
        this.wakeTimers.delete(id);
        member.tick(this.nowMs);
        this.flush(id);
      });
    }
  }

  do(id: MemberId, action: (member: Member) => void): void {
    action(this.members.get(id)!);
    this.flush(id);
  }

  crash(id: MemberId): void {
    this.crashed.add(id);
  }

  run(untilMs: number): void {
    for (;;) {
      this.queue.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
      const next = this.queue[0];
      if (!next || next.atMs > untilMs) break;
      this.queue.shift();
      this.nowMs = next.atMs;
      next.run();
    }
    this.nowMs = untilMs;
  }

  deliveries(id: MemberId): Extract<Upcall, { type: 'deliver' }>[] {
    return this.upcalls.get(id)!.filter((u): u is Extract<Upcall, { type: 'deliver' }> => u.type === 'deliver');
  }

  views(id: MemberId): number[][] {
    return this.upcalls
      .get(id)!
      .filter((u): u is Extract<Upcall, { type: 'view' }> => u.type === 'view')
      .map((u) => [u.view.viewId, u.view.members.length]);
  }
}

/** a, b and c (with `options`), b and c joining a one after the other: one view of three at 1000 ms. */
export function formThree(options: Partial<MemberConfig> = {}): Harness {
  const h = new Harness();
  for (const id of ['a', 'b', 'c']) h.add(id, options);
  h.do('a', (m) => m.join([], 0));
  h.at(5, () => h.do('b', (m) => m.join(['a'], h.nowMs)));
  h.at(10, () => h.do('c', (m) => m.join(['a'], h.nowMs)));
  h.run(1000);
  return h;
}
