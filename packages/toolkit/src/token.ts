import { SynodError, type MemberId } from '@synod/core';
import type { Group, Message } from '@synod/peer';
import { Lease, at, leftError, newToolStats, toolKind, type LeaseOptions, type ToolStats } from './lease.js';

export interface TokenOptions extends LeaseOptions {
  /** Several tokens on one group need distinct names. Default 'default'. */
  readonly instance?: string;
}

export interface TokenGrant {
  /** Increases with every pass and regeneration: a fencing token for what the token guards. */
  readonly generation: number;
  /** Whether this member still holds the token now (see Token.holding). */
  valid(): boolean;
  /** Called once if the grant is lost without release(): lease lapsed, minority, exclusion, the group left. */
  onLost(listener: () => void): () => void;
  /** Done with the token: it passes to the next requester, or stays here idle. */
  release(): void;
}

export interface Token {
  /** The replicated holder (idle or in use); undefined before the first view. */
  readonly holder: MemberId | undefined;
  readonly generation: number;
  /** Requesters in the order their requests were delivered. */
  readonly queue: readonly MemberId[];
  /**
   * Whether this member holds the token now: the replicated holder, not passing it, under a fresh
   * lease, and past the lease of a holder whose removal regenerated it (lease.ts).
   */
  holding(): boolean;
  /**
   * Resolves once the token is here and valid: at once if it is idle here, else after a request.
   * Once the group is left (leave(), the peer closed), waits reject and later calls throw SynodError NOT_JOINED.
   */
  acquire(options?: { readonly timeoutMs?: number }): Promise<TokenGrant>;
  /** Called when the replicated holder changes. */
  onHolder(listener: (holder: MemberId | undefined, generation: number) => void): () => void;
  readonly stats: ToolStats;
}

interface Waiter {
  readonly resolve: (grant: TokenGrant) => void;
  readonly reject: (error: unknown) => void;
  cancelTimeout: (() => void) | undefined;
}

/**
 * A token (Isis's token tool): one holder at a time. A member requests it (safe order, so every
 * member knows the queue); the holder passes it to the first requester when it releases, or at
 * once if idle. When the holder leaves the view the token is regenerated at the first requester, or
 * the oldest member, and believed there only after the old holder's lease has run out. Make it in
 * JoinOptions.setup: `setup: (g) => { token = createToken(g) }`.
 */
export function createToken(group: Group, options: TokenOptions = {}): Token {
  const kind = toolKind('token', options.instance);
  const stats = newToolStats();
  const lease = new Lease(group, kind('lease'), options, stats);
  // Replicated.
  let holder: MemberId | undefined;
  let generation = 0;
  let queue: MemberId[] = [];
  // This member's side.
  let stateLoaded = false;
  let sawView = false;
  let notBeforeMs = 0;
  let passing = false;
  let requestInFlight = false;
  let inUse: { lost: boolean; released: boolean; listeners: Set<() => void> } | undefined;
  /** A local waiter was served since the token last came here: requesters elsewhere go next. */
  let usedSinceArrival = false;
  const waiters: Waiter[] = [];
  const holderListeners = new Set<(holder: MemberId | undefined, generation: number) => void>();
  let cancelCheck: (() => void) | undefined;
  /** Set once the group is left for good: every wait ended with it, and later calls throw it. */
  let ended: SynodError | undefined;

  const self = () => group.memberId;
  const holding = (): boolean =>
    stateLoaded && holder === self() && !passing && lease.valid() && group.clock.now() >= notBeforeMs;
  const setHolder = (next: MemberId | undefined): void => {
    holder = next;
    usedSinceArrival = false;
    generation++;
    queue = queue.filter((member) => member !== next);
    for (const listener of [...holderListeners]) listener(holder, generation);
  };

  const send = (op: string, data: unknown, onFail: () => void): void => {
    group.safe(kind(op), data as never).catch(() => onFail());
  };

  /**
   * Hand the token on if it is here, idle and wanted elsewhere; else serve a local waiter. While it
   * is elsewhere, local waiters need a request in the queue: one that could not be sent (asked while
   * the group was rejoining after an exclusion, or refused under BACKPRESSURE) is sent here once the
   * state is loaded, instead of leaving its waiters to time out.
   */
  function step(): void {
    cancelCheck?.();
    cancelCheck = undefined;
    if (!stateLoaded) return;
    if (holder !== self() || passing) {
      if (waiters.length > 0) request();
      return;
    }
    if (inUse) return;
    const next = queue.find((member) => member !== self());
    // One local grant per arrival while others wait: local waiters alone would keep it here for ever.
    if (waiters.length > 0 && (next === undefined || !usedSinceArrival)) {
      if (!holding()) {
        if (group.clock.now() < notBeforeMs) cancelCheck = at(group, notBeforeMs, step);
        return; // else lease.onChange calls step again
      }
      const waiter = waiters.shift()!;
      waiter.cancelTimeout?.();
      waiter.resolve(grant());
      return;
    }
    if (next === undefined) return;
    if (waiters.length > 0) request(); // our own waiters queue behind the requesters served first
    passing = true;
    // A pass fails only if this incarnation ends (the view that removes it regenerates the token
    // elsewhere) or under BACKPRESSURE; then the next step() passes again. Not at once: a full
    // send queue would make that a busy loop.
    send('pass', { to: next, generation }, () => (passing = false));
  }

  function grant(): TokenGrant {
    const use = { lost: false, released: false, listeners: new Set<() => void>() };
    inUse = use;
    usedSinceArrival = true;
    const granted = generation;
    return {
      generation: granted,
      valid: () => inUse === use && !use.lost && !use.released && generation === granted && holding(),
      onLost(listener) {
        use.listeners.add(listener);
        return () => use.listeners.delete(listener);
      },
      release() {
        if (use.released || use.lost) return;
        use.released = true; // the belief ends before anyone can learn of a pass
        if (inUse === use) inUse = undefined;
        // Requesters elsewhere go first; our own further waiters queue behind them.
        if (queue.some((member) => member !== self()) && waiters.length > 0) request();
        step();
      },
    };
  }

  const lose = (): void => {
    const use = inUse;
    if (!use || use.lost || use.released) return;
    use.lost = true;
    inUse = undefined;
    for (const listener of [...use.listeners]) listener();
  };

  const request = (): void => {
    if (requestInFlight || queue.includes(self())) return;
    requestInFlight = true;
    send('request', 1, () => (requestInFlight = false));
  };

  // ------------------------------------------------------------ the replicated state machine

  group.handle(kind('request'), (message: Message<unknown>) => {
    if (message.data !== 1) {
      stats.droppedMalformed++;
      return;
    }
    if (message.sender === self()) requestInFlight = false;
    if (queue.includes(message.sender)) stats.ignoredStale++;
    else queue.push(message.sender);
    step();
  });

  group.handle(kind('pass'), (message: Message<unknown>) => {
    const body = message.data as { to?: unknown; generation?: unknown } | null;
    if (typeof body !== 'object' || body === null || typeof body.to !== 'string' || typeof body.generation !== 'number') {
      stats.droppedMalformed++;
      return;
    }
    if (message.sender === self()) passing = false;
    if (message.sender !== holder || body.generation !== generation || !group.view?.members.includes(body.to)) {
      stats.ignoredStale++;
      step();
      return;
    }
    setHolder(body.to);
    step();
  });

  const applyView = (members: readonly MemberId[]): void => {
    const present = new Set(members);
    queue = queue.filter((member) => present.has(member));
    if (holder === undefined || !present.has(holder)) {
      // Regenerated where it was wanted first; a removed holder's lease is waited out.
      if (holder !== undefined) notBeforeMs = Math.max(notBeforeMs, group.clock.now() + lease.waitMs);
      setHolder(queue[0] ?? members[0]);
    }
    step();
  };

  group.on('view', (view) => {
    if (!sawView) {
      sawView = true;
      notBeforeMs = group.clock.now() + lease.waitMs; // a joiner cannot tell which removals came just before
      holder = undefined;
      generation = 0;
      queue = [];
      stateLoaded = view.members.length === 1; // a joiner's state, saved just before this view, comes next
    }
    if (stateLoaded) applyView(view.members);
  });

  group.statePart(kind('state'), {
    save: () => new TextEncoder().encode(JSON.stringify({ holder: holder ?? null, generation, queue })),
    load: (bytes) => {
      const state = decodeState(bytes);
      if (!state) throw new SynodError('INVALID_ARGUMENT', `the transferred state of ${kind('state')} is malformed`);
      ({ holder, generation, queue } = state);
      stateLoaded = true;
      notBeforeMs = group.clock.now() + lease.waitMs;
      applyView(group.view?.members ?? []);
    },
  });

  lease.onChange(() => {
    if (!lease.valid()) lose();
    step();
  });
  group.on('excluded', () => {
    lose();
    for (const waiter of waiters.splice(0)) {
      waiter.cancelTimeout?.();
      waiter.reject(new SynodError('EXCLUDED', `excluded from ${group.name} while waiting for the token`));
    }
    sawView = false;
    stateLoaded = false;
    passing = false;
    requestInFlight = false;
  });
  group.on('left', ({ reason }) => {
    ended = leftError('token', group, reason);
    stateLoaded = false; // step() does nothing from here on
    cancelCheck?.();
    cancelCheck = undefined;
    lose();
    for (const waiter of waiters.splice(0)) {
      waiter.cancelTimeout?.();
      waiter.reject(ended);
    }
  });

  return {
    get holder() {
      return holder;
    },
    get generation() {
      return generation;
    },
    get queue() {
      return [...queue];
    },
    holding,
    acquire(acquireOptions = {}) {
      const timeoutMs = acquireOptions.timeoutMs;
      if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
        throw new SynodError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${String(timeoutMs)}`);
      }
      if (ended) throw ended;
      if (!group.view) throw new SynodError('NOT_JOINED', `not yet a member of ${group.name}`);
      return new Promise<TokenGrant>((resolve, reject) => {
        const waiter: Waiter = { resolve, reject, cancelTimeout: undefined };
        waiters.push(waiter);
        if (timeoutMs !== undefined) {
          waiter.cancelTimeout = at(group, group.clock.now() + timeoutMs, () => {
            const index = waiters.indexOf(waiter);
            if (index < 0) return;
            waiters.splice(index, 1);
            reject(new SynodError('TIMEOUT', `the token did not come within ${timeoutMs} ms`));
            step(); // our queued request may now pass the token on
          });
        }
        step(); // requests the token if it is elsewhere
      });
    },
    onHolder(listener) {
      holderListeners.add(listener);
      return () => holderListeners.delete(listener);
    },
    stats,
  };
}

function decodeState(bytes: Uint8Array): { holder: MemberId | undefined; generation: number; queue: MemberId[] } | undefined {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
    const { holder, generation, queue } = value;
    if (holder !== null && typeof holder !== 'string') return undefined;
    if (typeof generation !== 'number' || !Array.isArray(queue) || !queue.every((member) => typeof member === 'string')) return undefined;
    return { holder: holder ?? undefined, generation, queue: queue as MemberId[] };
  } catch {
    return undefined;
  }
}
