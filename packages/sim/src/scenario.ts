/**
 * A seed picks a fault mix: a flavour (from calm to everything-at-once) and, within it, the value
 * of every knob. Faults are data, so a scenario prints as JSON and a failing run can be read off.
 */
import type { Order } from '@synod/core';
import type { AppKnobs, WorkloadKnobs } from './cluster.js';
import type { MemberTiming } from './member-like.js';
import type { NetworkKnobs } from './network.js';
import { Prng } from './prng.js';

export interface FaultProfile {
  /** How often the fault schedule considers acting. */
  tickMs: number;
  /** Expected faults per virtual second, each kind on its own. */
  partitionPerSec: number;
  crashPerSec: number;
  /** Crash the coordinator (members[0], the sequencer) at a random moment. */
  coordinatorCrashPerSec: number;
  /** Arm: at the next flush ('block' upcall), crash the coordinator a few ms later. */
  crashOnFlushPerSec: number;
  /** Arm: at the next state snapshot ('saveState'), crash its provider a few ms later. */
  crashOnTransferPerSec: number;
  joinPerSec: number;
  leavePerSec: number;
  /** A short spell of heavy loss for everyone. */
  lossBurstPerSec: number;
  /** Random bytes from a non-member address. */
  garbagePerSec: number;
  restartProbability: number;
  restartDelayMs: readonly [number, number];
  partitionMs: readonly [number, number];
  threeWaySplitProbability: number;
  /** Probability that a member that leaves comes back later under a new id. */
  returnAfterLeaveProbability: number;
}

export type Flavour = 'calm' | 'lossy' | 'partitions' | 'crashes' | 'churn' | 'chaos';

export interface Scenario {
  readonly flavour: Flavour;
  /** How the group forms: all founders at once on a clean network, staggered over
   *  founderStaggerMs, or at once under the seed's loss and duplication. */
  readonly formation: 'clean' | 'staggered' | 'lossy';
  readonly founderStaggerMs: number;
  readonly network: NetworkKnobs;
  readonly workload: WorkloadKnobs;
  readonly app: AppKnobs;
  readonly faults: FaultProfile;
  readonly timing: MemberTiming;
}

const NO_FAULTS: FaultProfile = {
  tickMs: 50,
  partitionPerSec: 0,
  crashPerSec: 0,
  coordinatorCrashPerSec: 0,
  crashOnFlushPerSec: 0,
  crashOnTransferPerSec: 0,
  joinPerSec: 0,
  leavePerSec: 0,
  lossBurstPerSec: 0,
  garbagePerSec: 0,
  restartProbability: 0.7,
  restartDelayMs: [100, 1500],
  partitionMs: [300, 2500],
  threeWaySplitProbability: 0.25,
  returnAfterLeaveProbability: 0.5,
};

/** Member timing for the simulator: fast enough that seconds of virtual time hold many views. */
export const simTiming: MemberTiming = {
  heartbeatMs: 50,
  suspectAfterMs: 500,
  retransmitMs: 40,
  discoveryMs: 400,
  flushTimeoutMs: 800,
};

export function scenarioFor(seed: number): Scenario {
  const random = new Prng(seed).derive('scenario');
  const flavour = random.weighted<Flavour>({ calm: 1, lossy: 2, partitions: 2, crashes: 2, churn: 2, chaos: 5 });
  const noisy = flavour !== 'calm';
  const network: NetworkKnobs = {
    baseDelayMs: random.int(1, 10),
    jitterMs: random.pick([0, 2, 10, 30]),
    lossRate: noisy ? random.pick([0, 0.01, 0.05, 0.1, 0.2]) : 0,
    duplicateRate: noisy ? random.pick([0, 0.01, 0.05]) : 0,
    mtuBytes: 16 * 1024,
    linkDownOnCrash: random.chance(0.5),
    linkDownOnPartition: random.chance(0.3),
    linkDownDelayMs: random.int(5, 150),
  };
  const orderWeights: Record<Order, number> = {
    fifo: random.int(0, 4),
    causal: random.int(0, 4),
    total: random.int(0, 4),
    safe: random.int(1, 4),
  };
  const workload: WorkloadKnobs = {
    meanIntervalMs: random.pick([10, 25, 50, 100]),
    orderWeights,
    mediumRate: random.pick([0, 0.05, 0.1]),
    largeRate: random.pick([0, 0.005, 0.02]),
    maxPending: 64,
    // From a stream of its own: the draws above, and so the seeds from before bursts, stay as they were.
    burstRate: new Prng(seed).derive('scenario-burst').pick([0, 0.1, 0.3]),
  };
  const app: AppKnobs = {
    asyncSaveState: random.chance(0.5),
    maxSaveDelayMs: random.pick([1, 20, 100]),
    statePaddingBytes: random.pick([0, 0, 1000, 40_000]),
    rejoinDelayMs: random.int(0, 200),
  };
  const faults: FaultProfile = { ...NO_FAULTS };
  const has = (kind: Flavour): boolean => flavour === kind || flavour === 'chaos';
  if (noisy) {
    faults.lossBurstPerSec = has('lossy') ? random.pick([0, 0.2, 0.5]) : 0;
    faults.garbagePerSec = random.pick([0, 0, 1, 5]);
  }
  if (has('partitions')) {
    faults.partitionPerSec = random.pick([0.2, 0.5, 1]);
    faults.partitionMs = [random.int(100, 500), random.int(800, 3000)];
    faults.threeWaySplitProbability = random.pick([0, 0.25, 0.5]);
  }
  if (has('crashes')) {
    faults.crashPerSec = random.pick([0.2, 0.5, 1]);
    faults.coordinatorCrashPerSec = random.pick([0, 0.2, 0.5]);
    faults.crashOnFlushPerSec = random.pick([0, 0.2, 0.5]);
    faults.crashOnTransferPerSec = random.pick([0, 0.2, 0.5]);
    faults.restartProbability = random.pick([0.5, 0.8, 1]);
    faults.restartDelayMs = [random.int(0, 300), random.int(500, 2000)];
  }
  if (has('churn')) {
    faults.joinPerSec = random.pick([0.2, 0.5, 1]);
    faults.leavePerSec = random.pick([0.1, 0.3, 0.6]);
    faults.crashOnTransferPerSec = Math.max(faults.crashOnTransferPerSec, random.pick([0, 0.3]));
    faults.returnAfterLeaveProbability = random.pick([0.3, 0.7]);
  }
  const formation = random.weighted({ clean: 6, staggered: 1, lossy: noisy ? 1 : 0 });
  const founderStaggerMs = formation === 'staggered' ? random.pick([5, 20, 100]) : 0;
  return { flavour, formation, founderStaggerMs, network, workload, app, faults, timing: simTiming };
}
