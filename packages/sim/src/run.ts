/**
 * One run = one seed. The group forms; a safety phase injects the seed's faults under load; a quiet
 * liveness phase (no faults) must converge to one view of every live member with everything
 * delivered and buffers drained. Then every checker reads the recorded histories.
 */
import { Member, type MemberStats } from '@synod/core';
import { Chaos, type ChaosCounters } from './chaos.js';
import { checkAll, type FinalState, type Violation } from './checkers.js';
import { Cluster, type ClusterCounters } from './cluster.js';
import type { MemberHistory } from './history.js';
import type { MemberFactory } from './member-like.js';
import type { NetworkStats } from './network.js';
import { Prng } from './prng.js';
import { convergence as convergenceOf } from './quorum.js';
import { scenarioFor, type Flavour, type Scenario } from './scenario.js';

export interface RunOptions {
  readonly seed: number;
  /** Members that found the group. Default 5. */
  readonly members?: number;
  /** Joins may add nodes up to this many. Default members + 3. */
  readonly maxNodes?: number;
  /** Length of the faulty safety phase. Default: 3–8 virtual seconds, by seed. */
  readonly safetyMs?: number;
  /** On a loss-free network the founders must form one group within this. Default 5000. */
  readonly formationTimeoutMs?: number;
  /** The workload goes on this long into the quiet phase, then stops. */
  readonly quietWorkloadMs?: number;
  /** The quiet phase must converge within this much virtual time. */
  readonly livenessTimeoutMs?: number;
  /** Once converged, run this long without faults or load before measuring buffers. */
  readonly stabilizeMs?: number;
  readonly bufferBoundBytes?: number;
  /** A run that processes more events than this stops with a violation (a livelock guard). */
  readonly maxEvents?: number;
  readonly createMember?: MemberFactory;
  /** Adjusts the seed's scenario (tests use it to pin a fault mix). */
  readonly adjustScenario?: (scenario: Scenario) => Scenario;
}

export interface RunStats {
  flavour: Flavour;
  virtualMs: number;
  events: number;
  nodes: number;
  incarnations: number;
  messagesSent: number;
  deliveries: number;
  maxViewId: number;
  cluster: ClusterCounters;
  chaos: ChaosCounters;
  network: NetworkStats;
  member: MemberStats;
}

export interface RunResult {
  readonly seed: number;
  readonly scenario: Scenario;
  readonly violations: Violation[];
  readonly stats: RunStats;
  readonly histories: readonly MemberHistory[];
  readonly final: FinalState;
  /** Faults and runner actions with their virtual times. */
  readonly timeline: readonly { atMs: number; what: string }[];
}

export function runSimulation(options: RunOptions): RunResult {
  const seed = options.seed >>> 0;
  const random = new Prng(seed).derive('run');
  const scenario = (options.adjustScenario ?? ((s: Scenario) => s))(scenarioFor(seed));
  const initialMembers = options.members ?? 5;
  const maxNodes = options.maxNodes ?? initialMembers + 3;
  const safetyMs = options.safetyMs ?? random.int(3000, 8000);
  const maxEvents = options.maxEvents ?? 5_000_000;
  const cluster = new Cluster({
    seed,
    group: 'sim',
    timing: scenario.timing,
    network: { ...scenario.network },
    workload: scenario.workload,
    app: scenario.app,
    createMember: options.createMember ?? ((config) => new Member(config)),
  });
  const queue = cluster.queue;
  let budgetExceeded = false;
  const overBudget = (): boolean => {
    if (queue.processed > maxEvents) budgetExceeded = true;
    return budgetExceeded;
  };

  // Formation: the founders start at once or staggered, each knowing all the others.
  const { lossRate, duplicateRate } = cluster.network.knobs;
  if (scenario.formation !== 'lossy') Object.assign(cluster.network.knobs, { lossRate: 0, duplicateRate: 0 });
  const founders = Array.from({ length: initialMembers }, () => cluster.addNode());
  const founderIds = founders.map((node) => `n${node.index}`);
  for (const node of founders) queue.at(random.real(0, scenario.founderStaggerMs), () => cluster.spawn(node, founderIds));
  const formed = (): boolean => {
    const views = founders.map((node) => node.current?.app.view);
    return views.every((view) => view !== undefined && view.members.length === initialMembers && view.viewId === views[0]?.viewId);
  };
  // On a loss-free network the group must form within formationTimeoutMs; under loss it may take
  // longer (no violation), but the safety phase waits for it a while.
  const formationTimeoutMs = options.formationTimeoutMs ?? 5000;
  const lossy = scenario.formation === 'lossy';
  queue.runUntil(queue.nowMs + formationTimeoutMs * (lossy ? 3 : 1), () => formed() || overBudget());
  if (!formed() && !budgetExceeded && !lossy) {
    cluster.violation('liveness', `the ${initialMembers} founders did not form one group within ${formationTimeoutMs}ms`);
  }

  // Safety phase: faults under load.
  cluster.note('safety phase');
  Object.assign(cluster.network.knobs, { lossRate, duplicateRate });
  const chaos = new Chaos(cluster, new Prng(seed).derive('chaos'), scenario.faults, maxNodes);
  chaos.start();
  queue.runUntil(queue.nowMs + safetyMs, overBudget);
  chaos.stop();

  // Liveness phase: no faults; the load goes on a little, then everything must settle.
  queue.runUntil(queue.nowMs + (options.quietWorkloadMs ?? 1000), overBudget);
  cluster.workloadOn = false;
  const deadline = queue.nowMs + (options.livenessTimeoutMs ?? 30_000);
  const stabilizeMs = options.stabilizeMs ?? 2000;
  let convergence = convergenceOf(cluster);
  while (!budgetExceeded && queue.nowMs < deadline) {
    if (convergence.converged) {
      const settledView = cluster.maxViewId;
      queue.runUntil(queue.nowMs + stabilizeMs, overBudget);
      convergence = convergenceOf(cluster);
      if (convergence.converged && cluster.maxViewId === settledView) break;
      continue;
    }
    queue.runUntil(queue.nowMs + 100, overBudget);
    convergence = convergenceOf(cluster);
  }
  if (budgetExceeded) {
    cluster.violation('runner', `stopped after ${queue.processed} events (budget ${maxEvents}): a livelock?`);
  }

  const live = cluster.nodes.filter((node) => node.wantsUp && node.current?.alive).map((node) => node.current!);
  const firstView = live[0]?.app.view;
  const final: FinalState = {
    converged: convergence.converged,
    note: convergence.converged
      ? convergence.note
      : `${convergence.note} at the end of the ${options.livenessTimeoutMs ?? 30_000}ms quiet-phase deadline`,
    ...(convergence.converged && firstView ? { finalView: { viewId: firstView.viewId, members: firstView.members } } : {}),
    live: live.map((inc) => ({
      member: inc.id,
      viewId: inc.app.view?.viewId,
      bufferedBytes: safeBufferedBytes(inc.member),
      unsentMessages: inc.app.unsentCount(),
    })),
    bufferBoundBytes: options.bufferBoundBytes ?? 8 * 1024,
  };
  const violations = [...cluster.violations, ...checkAll(cluster.histories, final)];

  const memberStats: MemberStats = {
    droppedMalformed: 0,
    droppedNonMember: 0,
    droppedStale: 0,
    retransmitsSent: 0,
    naksSent: 0,
    viewChanges: 0,
    packedMessages: 0,
  };
  for (const node of cluster.nodes) {
    for (let n = 1; n <= node.incarnations; n++) {
      const stats = cluster.incarnation(n === 1 ? `n${node.index}` : `n${node.index}.${n}`)?.member.stats;
      if (stats === undefined) continue;
      for (const key of Object.keys(memberStats) as (keyof MemberStats)[]) memberStats[key] += stats[key];
    }
  }
  const stats: RunStats = {
    flavour: scenario.flavour,
    virtualMs: Math.round(queue.nowMs),
    events: queue.processed,
    nodes: cluster.nodes.length,
    incarnations: cluster.histories.length,
    messagesSent: cluster.histories.reduce((sum, h) => sum + h.sent.length, 0),
    deliveries: cluster.histories.reduce((sum, h) => sum + h.events.filter((e) => e.t === 'deliver').length, 0),
    maxViewId: cluster.maxViewId,
    cluster: cluster.counters,
    chaos: chaos.counters,
    network: cluster.network.stats,
    member: memberStats,
  };
  return { seed, scenario, violations, stats, histories: cluster.histories, final, timeline: cluster.timeline };
}

function safeBufferedBytes(member: { bufferedBytes(): number }): number {
  try {
    return member.bufferedBytes();
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
