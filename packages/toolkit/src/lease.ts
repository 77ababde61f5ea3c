import { SynodError } from '@synod/core';
import type { Group, Message } from '@synod/peer';

/**
 * Leases: what keeps a member cut off by a partition from believing, past a bound, that it still
 * holds what the majority may already have given to someone else (a lock, the token, leadership).
 *
 * The problem. A member X in a minority does not learn it at once: it keeps its old view until its
 * failure detector fires, while the majority excludes it after its own timeout and re-grants what
 * X held. Virtual synchrony orders the two views' deliveries but says nothing about real time.
 *
 * The design. Every member renews a lease: it fbcasts a probe stamped with its own send time t0
 * and gathers replies; each member answers from its handler, i.e. only when it delivers the probe
 * in a view that holds X. The lease holds until t0 + leaseMs once a majority of the view in which X
 * delivered its own probe has answered. A tool's grant is valid only while the lease is.
 *
 * Why that is safe. A majority answer in view V means that some member of the quorum that flushes
 * V (a quorum of V intersects any majority of V) delivered the probe in V; so the probe belongs to
 * V's cut, and some member had received it, hence X had sent it, before the successor view was
 * installed anywhere. So t0 precedes the instant at which any survivor G installs the view that
 * removes X, and X's lease ends before G's install time + leaseMs. A minority delivers nothing, so
 * it renews nothing. Hence the successor's rule (`waitMs`): after applying a view that removes a
 * holder, a member treats what it is granted in consequence as valid only after leaseMs (stretched
 * by maxDrift, for clocks that run at slightly different rates) has passed on its own clock. A
 * member that joins (or rejoins) waits as long after its first view, since it cannot tell which
 * removals came just before. Durations are measured on each member's monotonic clock; no clock
 * needs to agree with another's reading, only with its rate.
 *
 * A fencing token protects external resources even so: a paused process (GC, SIGSTOP) may act on
 * a belief it checked before the pause.
 */
export interface LeaseOptions {
  /** How long a renewal keeps the lease, from the moment its probe was sent. Default 2000. */
  readonly leaseMs?: number;
  /** How often the lease is renewed. Default leaseMs / 4. */
  readonly renewMs?: number;
  /** A bound on how much faster one member's clock may run than another's. Default 0.01. */
  readonly maxDrift?: number;
}

/** Counters of what a tool dropped from the network. */
export interface ToolStats {
  /** Tool messages whose body was malformed (dropped, never thrown). */
  droppedMalformed: number;
  /** Well-formed messages that no longer applied (a stale pass, a release of nothing). */
  ignoredStale: number;
}

export function newToolStats(): ToolStats {
  return { droppedMalformed: 0, ignoredStale: 0 };
}

export class Lease {
  readonly leaseMs: number;
  readonly renewMs: number;
  /** How long a successor waits after the view that removed a holder. */
  readonly waitMs: number;
  private validUntilMs = 0;
  private active = false;
  /** Bumped when the lease is cut (minority, exclusion): answers to older probes extend nothing. */
  private epoch = 0;
  private nextProbe = 1;
  /** Probe number → size of the view in which this member delivered its own probe. */
  private readonly probeViewSize = new Map<number, number>();
  private renewTimer: unknown;
  private lapseTimer: unknown;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly group: Group,
    private readonly kind: string,
    options: LeaseOptions,
    private readonly stats: ToolStats,
  ) {
    const leaseMs = options.leaseMs ?? 2000;
    const renewMs = options.renewMs ?? leaseMs / 4;
    const maxDrift = options.maxDrift ?? 0.01;
    if (!(leaseMs > 0 && Number.isFinite(leaseMs))) throw new SynodError('INVALID_ARGUMENT', `leaseMs must be a positive number, got ${String(leaseMs)}`);
    if (!(renewMs > 0 && renewMs < leaseMs)) throw new SynodError('INVALID_ARGUMENT', `renewMs must be in (0, leaseMs), got ${String(renewMs)}`);
    if (!(maxDrift >= 0 && maxDrift < 1)) throw new SynodError('INVALID_ARGUMENT', `maxDrift must be in [0, 1), got ${String(maxDrift)}`);
    this.leaseMs = leaseMs;
    this.renewMs = renewMs;
    this.waitMs = Math.ceil(leaseMs * (1 + maxDrift)) + 1;
    group.handle<unknown>(kind, (message) => this.answer(message));
    group.on('view', () => this.activate());
    group.on('majority', () => this.activate());
    group.on('rejoined', () => this.activate());
    group.on('minority', () => this.cut());
    group.on('excluded', () => this.cut());
    group.on('left', () => this.cut()); // for good: no timer keeps the process alive
  }

  /** Whether this member holds a fresh majority acknowledgement now. */
  valid(): boolean {
    return this.active && this.group.clock.now() < this.validUntilMs;
  }

  /** Called when validity may have changed (extended, lapsed or cut). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.active = false;
    this.epoch++;
    this.clear();
  }

  private answer(message: Message<unknown>): void {
    const probe = message.data;
    if (typeof probe !== 'number' || !Number.isSafeInteger(probe) || probe < 1) {
      this.stats.droppedMalformed++;
      return;
    }
    if (message.sender === this.group.memberId) this.probeViewSize.set(probe, this.group.view?.members.length ?? 1);
    if (message.wantsReply) message.reply();
  }

  private activate(): void {
    if (this.active) return;
    this.active = true;
    this.renew();
  }

  private cut(): void {
    const wasValid = this.valid();
    this.active = false;
    this.epoch++;
    this.validUntilMs = 0;
    this.clear();
    if (wasValid) this.notify();
  }

  private clear(): void {
    const clock = this.group.clock;
    if (this.renewTimer !== undefined) clock.clearTimer(this.renewTimer);
    if (this.lapseTimer !== undefined) clock.clearTimer(this.lapseTimer);
    this.renewTimer = this.lapseTimer = undefined;
  }

  private renew(): void {
    this.renewTimer = undefined;
    if (!this.active) return;
    const clock = this.group.clock;
    this.renewTimer = clock.setTimer(() => this.renew(), this.renewMs);
    const probe = this.nextProbe++;
    const epoch = this.epoch;
    const sentAtMs = clock.now();
    this.group.fbcast(this.kind, probe, { replies: 'majority', timeoutMs: this.leaseMs }).then(
      (replies) => {
        const viewSize = this.probeViewSize.get(probe);
        this.probeViewSize.delete(probe);
        if (viewSize === undefined || epoch !== this.epoch || replies.length < Math.floor(viewSize / 2) + 1) return;
        this.extend(sentAtMs + this.leaseMs);
      },
      (error: unknown) => {
        this.probeViewSize.delete(probe);
        // The group was left or closed: stop renewing (a timer would otherwise keep the process alive).
        const code = (error as { code?: unknown } | null)?.code;
        if (code === 'NOT_JOINED' || code === 'CLOSED') this.cut();
      },
    );
  }

  private extend(untilMs: number): void {
    if (untilMs <= this.validUntilMs) return;
    const wasValid = this.valid();
    this.validUntilMs = untilMs;
    const clock = this.group.clock;
    if (this.lapseTimer !== undefined) clock.clearTimer(this.lapseTimer);
    this.lapseTimer = clock.setTimer(() => {
      this.lapseTimer = undefined;
      if (!this.valid()) this.notify();
    }, untilMs - clock.now());
    if (!wasValid && this.valid()) this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** `synod.<tool>/<instance>/<op>`, with the instance name checked. */
export function toolKind(tool: string, instance: string | undefined): (op: string) => string {
  const name = instance ?? 'default';
  if (typeof name !== 'string' || name.length === 0 || name.length > 100 || name.includes('/')) {
    throw new SynodError('INVALID_ARGUMENT', `a ${tool} instance name must be 1..100 characters without '/', got ${String(name)}`);
  }
  return (op) => `synod.${tool}/${name}/${op}`;
}

/** Fires `callback` at `atMs` on the group's clock (at once if past); returns a cancel function. */
export function at(group: Group, atMs: number, callback: () => void): () => void {
  const handle = group.clock.setTimer(callback, Math.max(0, atMs - group.clock.now()));
  return () => group.clock.clearTimer(handle);
}

/**
 * What a tool's waits end with once its group is left for good (the 'left' event: leave(), the
 * peer closed, a failed join), and what its later calls throw: SynodError NOT_JOINED, as the
 * group's own sends after leaving; the cause is the group's reason. ('excluded' is not the end:
 * the group rejoins under a new member id.)
 */
export function leftError(tool: string, group: Group, reason: SynodError): SynodError {
  return new SynodError('NOT_JOINED', `${tool}: left group ${group.name}`, { cause: reason });
}
