import type { MemberId, View } from '@synod/core';
import type { Group } from '@synod/peer';
import { Lease, at, newToolStats, toolKind, type LeaseOptions, type ToolStats } from './lease.js';

export interface LeaderOptions extends LeaseOptions {
  /** Several elections on one group need distinct names. Default 'default'. */
  readonly instance?: string;
}

export interface LeaderElection {
  /**
   * The leader of the current view: its oldest member, so every member that installed the view
   * names the same one. Undefined before the first view, while this member is in a minority
   * or excluded, and once it has left the group.
   */
  readonly leader: MemberId | undefined;
  /**
   * Whether this member may act as the leader now: it leads the current view, it holds a fresh
   * lease (a majority acknowledged it within leaseMs), and if the view that made it leader removed
   * its predecessor, that predecessor's lease has run out (see lease.ts). Never true in a minority.
   */
  isLeader(): boolean;
  /** Called with true when this member becomes the leader, false when it stops. */
  onLeader(listener: (leading: boolean) => void): () => void;
  /** Called when the agreed leader of the view changes (at the view event). */
  onChange(listener: (leader: MemberId | undefined, view: View) => void): () => void;
  readonly stats: ToolStats;
}

/**
 * Leader selection: the oldest member of the primary view leads (as Isis's coordinator). Make it in
 * JoinOptions.setup: `setup: (g) => { election = createLeader(g) }`.
 */
export function createLeader(group: Group, options: LeaderOptions = {}): LeaderElection {
  const kind = toolKind('leader', options.instance);
  const stats = newToolStats();
  const lease = new Lease(group, kind('lease'), options, stats);
  const leadersListeners = new Set<(leading: boolean) => void>();
  const changeListeners = new Set<(leader: MemberId | undefined, view: View) => void>();
  let view: View | undefined;
  let inMajority = false;
  let notBeforeMs = Infinity;
  let leading = false;
  let cancelWait: (() => void) | undefined;

  const leader = (): MemberId | undefined => (inMajority ? view?.members[0] : undefined);
  const isLeader = (): boolean =>
    leader() === group.memberId && lease.valid() && group.clock.now() >= notBeforeMs;

  const evaluate = (): void => {
    const now = isLeader();
    if (now === leading) return;
    leading = now;
    for (const listener of [...leadersListeners]) listener(now);
  };
  const waitUntil = (atMs: number): void => {
    notBeforeMs = atMs;
    cancelWait?.();
    cancelWait = at(group, atMs, evaluate);
  };

  lease.onChange(evaluate);
  group.on('view', (change) => {
    const first = view === undefined;
    const previousLeader = view?.members[0];
    view = change;
    inMajority = true;
    // A joiner cannot tell which removals just preceded its first view; a successor waits out the
    // lease of the leader the view removed.
    if (first || (previousLeader !== undefined && change.left.includes(previousLeader))) waitUntil(group.clock.now() + lease.waitMs);
    if (previousLeader !== change.members[0] || first) for (const listener of [...changeListeners]) listener(change.members[0], change);
    evaluate();
  });
  group.on('minority', () => {
    inMajority = false;
    evaluate();
  });
  group.on('majority', () => {
    inMajority = true;
    evaluate();
  });
  group.on('excluded', () => {
    inMajority = false;
    view = undefined; // the next incarnation's first view waits as a joiner's does
    evaluate();
  });
  group.on('left', () => {
    inMajority = false;
    cancelWait?.();
    cancelWait = undefined;
    evaluate();
  });

  return {
    get leader() {
      return leader();
    },
    isLeader,
    onLeader(listener) {
      leadersListeners.add(listener);
      return () => leadersListeners.delete(listener);
    },
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    stats,
  };
}
