import { SynodError, type MemberId } from '@synod/core';
import type { Group, Message } from '@synod/peer';
import { Lease, at, leftError, newToolStats, toolKind, type LeaseOptions, type ToolStats } from './lease.js';

export type LockMode = 'read' | 'write';

export interface LockGrant {
  readonly name: string;
  readonly mode: LockMode;
  /** Strictly greater than every earlier grant's, of any lock of this instance: hand it to the resources you guard. */
  readonly fencingToken: number;
  /**
   * Whether this member may still act under the grant now: not released, still held in the
   * replicated state, and under a fresh lease (see lease.ts). Check it before each guarded act.
   */
  valid(): boolean;
  /** Called once if the grant is lost without release(): lease lapsed, minority, exclusion, the group left. */
  onLost(listener: () => void): () => void;
  /** Releases the grant (idempotent); resolves once the release is sent. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Give up (SynodError TIMEOUT) and withdraw the request if not granted within this long. */
  readonly timeoutMs?: number;
}

/** What every member applied, in delivery order (for traces and checkers). */
export type LockEvent =
  | { readonly type: 'request'; readonly name: string; readonly member: MemberId; readonly request: number; readonly mode: LockMode }
  | { readonly type: 'grant'; readonly name: string; readonly member: MemberId; readonly request: number; readonly mode: LockMode; readonly fencingToken: number }
  | { readonly type: 'release'; readonly name: string; readonly member: MemberId; readonly request: number; readonly removed: boolean };

export interface LocksOptions extends LeaseOptions {
  /** Several lock tables on one group need distinct names. Default 'default'. */
  readonly instance?: string;
  /** Observes every applied step (request, grant, release), in the agreed order. */
  readonly onEvent?: (event: LockEvent) => void;
}

export interface LockHolder {
  readonly member: MemberId;
  readonly mode: LockMode;
  readonly fencingToken: number;
}

export interface Locks {
  /**
   * Waits in the lock's FIFO queue (a waiting writer blocks later readers) until granted and valid.
   * Once the group is left (leave(), the peer closed), waits reject and later calls throw SynodError NOT_JOINED.
   */
  acquire(name: string, mode?: LockMode, options?: AcquireOptions): Promise<LockGrant>;
  /** acquire, run fn, release (even if fn throws). */
  withLock<T>(name: string, mode: LockMode, fn: (grant: LockGrant) => T | Promise<T>, options?: AcquireOptions): Promise<T>;
  /** The replicated holders of `name`, as every member knows them. */
  holders(name: string): readonly LockHolder[];
  /** The replicated queue of `name`. */
  waiting(name: string): readonly { readonly member: MemberId; readonly mode: LockMode }[];
  readonly stats: ToolStats;
}

interface Entry {
  readonly member: MemberId;
  readonly request: number;
  readonly mode: LockMode;
}
interface Held extends Entry {
  readonly fencingToken: number;
}
interface LockState {
  holders: Held[];
  queue: Entry[];
}

/** A request of this member: waiting for its grant, then for the grant to be valid. */
interface Pending {
  readonly name: string;
  readonly mode: LockMode;
  readonly resolve: (grant: LockGrant) => void;
  readonly reject: (error: unknown) => void;
  cancelTimeout: (() => void) | undefined;
  fencingToken: number | undefined;
}

/** A grant handed to the app. */
interface Local {
  readonly name: string;
  readonly request: number;
  released: boolean;
  lost: boolean;
  readonly lostListeners: Set<() => void>;
}

const MAX_NAME_LENGTH = 1000;

/**
 * Named read/write locks, replicated: requests and releases are sent in safe (uniform total)
 * order, so a member cut off in a minority never applies one that the survivors do not (abcast
 * would let a minority sequencer deliver its own grant, and reuse a fencing token); every member
 * applies them, and the view changes that drop departed members' requests and grants, in one
 * order, so every member knows every queue. Fencing tokens come from one counter in the replicated
 * state, so they increase across every grant, view change and state transfer. A grant is believed
 * only under the member's lease; after a view removes a holder, the next grants of that lock wait
 * out its lease (lease.ts). Make it in JoinOptions.setup: `setup: (g) => { locks = createLocks(g) }`.
 */
export function createLocks(group: Group, options: LocksOptions = {}): Locks {
  const kind = toolKind('lock', options.instance);
  const stats = newToolStats();
  const lease = new Lease(group, kind('lease'), options, stats);
  const locks = new Map<string, LockState>();
  let lastFencingToken = 0;
  /** Lock name → local time before which a new grant is not yet valid (a removed holder's lease). */
  const notBefore = new Map<string, number>();
  let notBeforeAll = 0;
  const pending = new Map<number, Pending>();
  const granted = new Map<number, Local>();
  let nextRequest = 1;
  let sawView = false;
  /** False from a joiner's first view until its state arrives: nothing applies to a stale table. */
  let stateLoaded = false;
  /** Set once the group is left for good: every wait ended with it, and later calls throw it. */
  let ended: SynodError | undefined;

  const emit = (event: LockEvent) => options.onEvent?.(event);
  const stateOf = (name: string): LockState => {
    let state = locks.get(name);
    if (!state) locks.set(name, (state = { holders: [], queue: [] }));
    return state;
  };
  const validAt = (name: string): number => Math.max(notBeforeAll, notBefore.get(name) ?? 0);
  const isHeld = (name: string, request: number): boolean =>
    locks.get(name)?.holders.some((held) => held.member === group.memberId && held.request === request) ?? false;

  // ------------------------------------------------------------ the replicated state machine

  const grantFromQueue = (name: string): void => {
    const state = locks.get(name);
    if (!state) return;
    while (state.queue.length > 0) {
      const head = state.queue[0]!;
      const free = head.mode === 'write' ? state.holders.length === 0 : state.holders.every((held) => held.mode === 'read');
      if (!free) break;
      state.queue.shift();
      const fencingToken = ++lastFencingToken;
      state.holders.push({ ...head, fencingToken });
      emit({ type: 'grant', name, member: head.member, request: head.request, mode: head.mode, fencingToken });
      if (head.member === group.memberId) {
        const mine = pending.get(head.request);
        if (mine) mine.fencingToken = fencingToken;
      }
    }
    if (state.holders.length === 0 && state.queue.length === 0) locks.delete(name);
  };

  const applyAcquire = (message: Message<unknown>): void => {
    const body = parseBody(message.data, true);
    if (!body) {
      stats.droppedMalformed++;
      return;
    }
    const state = stateOf(body.name);
    const duplicate = (entry: Entry) => entry.member === message.sender && entry.request === body.request;
    if (state.queue.some(duplicate) || state.holders.some(duplicate)) {
      stats.ignoredStale++;
      return;
    }
    state.queue.push({ member: message.sender, request: body.request, mode: body.mode! });
    emit({ type: 'request', name: body.name, member: message.sender, request: body.request, mode: body.mode! });
    grantFromQueue(body.name);
    settle();
  };

  const applyRelease = (message: Message<unknown>): void => {
    const body = parseBody(message.data, false);
    if (!body) {
      stats.droppedMalformed++;
      return;
    }
    const state = locks.get(body.name);
    const match = (entry: Entry) => entry.member === message.sender && entry.request === body.request;
    if (!state || !(state.holders.some(match) || state.queue.some(match))) {
      stats.ignoredStale++;
      return;
    }
    state.holders = state.holders.filter((entry) => !match(entry));
    state.queue = state.queue.filter((entry) => !match(entry));
    emit({ type: 'release', name: body.name, member: message.sender, request: body.request, removed: false });
    grantFromQueue(body.name);
    settle();
  };

  group.handle(kind('acquire'), applyAcquire);
  group.handle(kind('release'), applyRelease);

  /** Drops the requests and grants of members not in the view; a removed holder's lease is waited out. */
  const applyView = (members: readonly MemberId[]): void => {
    const now = group.clock.now();
    const present = new Set(members);
    for (const [name, state] of [...locks]) {
      const gone = (entry: Entry) => !present.has(entry.member);
      for (const entry of [...state.holders, ...state.queue]) {
        if (gone(entry)) emit({ type: 'release', name, member: entry.member, request: entry.request, removed: true });
      }
      if (state.holders.some(gone)) notBefore.set(name, now + lease.waitMs);
      state.holders = state.holders.filter((entry) => !gone(entry));
      state.queue = state.queue.filter((entry) => !gone(entry));
      grantFromQueue(name);
    }
    settle();
  };

  group.on('view', (view) => {
    if (!sawView) {
      sawView = true;
      notBeforeAll = group.clock.now() + lease.waitMs; // a joiner cannot tell which removals came just before
      // A founder starts empty; a joiner's state arrives next, saved just before this view, and
      // load() applies this view to it.
      locks.clear();
      stateLoaded = view.members.length === 1;
    }
    if (stateLoaded) applyView(view.members);
  });

  group.statePart(kind('state'), {
    save: () =>
      new TextEncoder().encode(JSON.stringify({ lastFencingToken, locks: [...locks].map(([name, state]) => [name, state.holders, state.queue]) })),
    load: (bytes) => {
      const loaded = decodeState(bytes);
      if (!loaded) throw new SynodError('INVALID_ARGUMENT', `the transferred state of ${kind('state')} is malformed`);
      lastFencingToken = loaded.lastFencingToken;
      locks.clear();
      for (const [name, state] of loaded.locks) locks.set(name, state);
      notBeforeAll = group.clock.now() + lease.waitMs;
      stateLoaded = true;
      applyView(group.view?.members ?? []);
    },
  });

  // ------------------------------------------------------------ this member's side

  const lose = (local: Local, sendRelease: boolean): void => {
    if (local.released || local.lost) return;
    local.lost = true;
    granted.delete(local.request);
    if (sendRelease) void group.safe(kind('release'), { name: local.name, request: local.request }).catch(() => undefined);
    for (const listener of [...local.lostListeners]) listener();
  };

  /** Resolves every pending request whose grant is now valid; schedules the next check. */
  let cancelCheck: (() => void) | undefined;
  function settle(): void {
    cancelCheck?.();
    cancelCheck = undefined;
    if (ended) return;
    const now = group.clock.now();
    let nextCheck = Infinity;
    for (const [request, wait] of [...pending]) {
      if (wait.fencingToken === undefined) continue;
      if (!isHeld(wait.name, request)) continue;
      const from = validAt(wait.name);
      if (now < from) {
        nextCheck = Math.min(nextCheck, from);
        continue;
      }
      if (!lease.valid()) continue; // lease.onChange calls settle again
      pending.delete(request);
      wait.cancelTimeout?.();
      wait.resolve(makeGrant(wait.name, wait.mode, wait.fencingToken, request));
    }
    // A grant that vanished from the replicated state (it cannot, but a bug must not leave it valid).
    for (const local of [...granted.values()]) if (!isHeld(local.name, local.request)) lose(local, false);
    if (nextCheck < Infinity) cancelCheck = at(group, nextCheck, settle);
  }

  lease.onChange(() => {
    if (!lease.valid()) for (const local of [...granted.values()]) lose(local, true);
    settle();
  });
  group.on('excluded', () => {
    for (const local of [...granted.values()]) lose(local, false);
    for (const [request, wait] of [...pending]) {
      pending.delete(request);
      wait.cancelTimeout?.();
      wait.reject(new SynodError('EXCLUDED', `excluded from ${group.name} while waiting for lock ${wait.name}`));
    }
    sawView = false;
    stateLoaded = false;
  });
  group.on('left', ({ reason }) => {
    ended = leftError('locks', group, reason);
    cancelCheck?.();
    cancelCheck = undefined;
    for (const local of [...granted.values()]) lose(local, false);
    for (const [request, wait] of [...pending]) {
      pending.delete(request);
      wait.cancelTimeout?.();
      wait.reject(ended);
    }
  });

  function makeGrant(name: string, mode: LockMode, fencingToken: number, request: number): LockGrant {
    const local: Local = { name, request, released: false, lost: false, lostListeners: new Set() };
    granted.set(request, local);
    return {
      name,
      mode,
      fencingToken,
      valid: () =>
        !local.released && !local.lost && lease.valid() && group.clock.now() >= validAt(name) && isHeld(name, request),
      onLost(listener) {
        local.lostListeners.add(listener);
        return () => local.lostListeners.delete(listener);
      },
      async release() {
        if (local.released || local.lost) return;
        local.released = true; // the belief ends here, before anyone can learn of the release
        granted.delete(request);
        try {
          await group.safe(kind('release'), { name, request });
        } catch {
          // Excluded or left: the view change already released it.
        }
      },
    };
  }

  const acquire = (name: string, mode: LockMode = 'write', acquireOptions: AcquireOptions = {}): Promise<LockGrant> => {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new SynodError('INVALID_ARGUMENT', `a lock name must be a string of 1..${MAX_NAME_LENGTH} characters`);
    }
    if (mode !== 'read' && mode !== 'write') throw new SynodError('INVALID_ARGUMENT', `mode must be 'read' or 'write', got ${String(mode)}`);
    const timeoutMs = acquireOptions.timeoutMs;
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      throw new SynodError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    }
    if (ended) throw ended;
    if (!group.view) throw new SynodError('NOT_JOINED', `not yet a member of ${group.name}`);
    const request = nextRequest++;
    return new Promise<LockGrant>((resolve, reject) => {
      const wait: Pending = { name, mode, resolve, reject, cancelTimeout: undefined, fencingToken: undefined };
      pending.set(request, wait);
      const withdraw = (error: unknown) => {
        if (pending.get(request) !== wait) return;
        pending.delete(request);
        wait.cancelTimeout?.();
        void group.safe(kind('release'), { name, request }).catch(() => undefined);
        reject(error);
      };
      if (timeoutMs !== undefined) {
        wait.cancelTimeout = at(group, group.clock.now() + timeoutMs, () =>
          withdraw(new SynodError('TIMEOUT', `lock ${name} not granted within ${timeoutMs} ms`)),
        );
      }
      group.safe(kind('acquire'), { name, mode, request }).catch(withdraw);
    });
  };

  return {
    acquire,
    async withLock(name, mode, fn, acquireOptions) {
      const grant = await acquire(name, mode, acquireOptions);
      try {
        return await fn(grant);
      } finally {
        await grant.release();
      }
    },
    holders: (name) => (locks.get(name)?.holders ?? []).map(({ member, mode, fencingToken }) => ({ member, mode, fencingToken })),
    waiting: (name) => (locks.get(name)?.queue ?? []).map(({ member, mode }) => ({ member, mode })),
    stats,
  };
}

/** A request or release body from the network; undefined when malformed (dropped and counted). */
function parseBody(data: unknown, withMode: boolean): { name: string; request: number; mode?: LockMode } | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { name, request, mode } = data as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) return undefined;
  if (typeof request !== 'number' || !Number.isSafeInteger(request) || request < 1) return undefined;
  if (!withMode) return { name, request };
  if (mode !== 'read' && mode !== 'write') return undefined;
  return { name, request, mode };
}

function decodeState(bytes: Uint8Array): { lastFencingToken: number; locks: [string, LockState][] } | undefined {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const { lastFencingToken, locks } = value as Record<string, unknown>;
    if (typeof lastFencingToken !== 'number' || !Number.isSafeInteger(lastFencingToken) || !Array.isArray(locks)) return undefined;
    const entry = (item: unknown, held: boolean): boolean => {
      if (typeof item !== 'object' || item === null) return false;
      const { member, request, mode, fencingToken } = item as Record<string, unknown>;
      return (
        typeof member === 'string' &&
        typeof request === 'number' &&
        (mode === 'read' || mode === 'write') &&
        (!held || typeof fencingToken === 'number')
      );
    };
    const out: [string, LockState][] = [];
    for (const item of locks) {
      if (!Array.isArray(item) || item.length !== 3) return undefined;
      const [name, holders, queue] = item as unknown[];
      if (typeof name !== 'string' || !Array.isArray(holders) || !Array.isArray(queue)) return undefined;
      if (!holders.every((h) => entry(h, true)) || !queue.every((q) => entry(q, false))) return undefined;
      out.push([name, { holders: holders as Held[], queue: queue as Entry[] }]);
    }
    return { lastFencingToken, locks: out };
  } catch {
    return undefined;
  }
}
