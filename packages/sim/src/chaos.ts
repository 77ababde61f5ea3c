/**
 * The fault schedule of the safety phase: at every tick it may inject each kind of fault with the
 * probability its per-second rate gives. Faults that would leave no connected majority of the
 * latest views (no possible primary partition) are skipped: the simulator looks for protocol bugs,
 * not for the group's legitimate loss of its quorum.
 */
import type { Cluster, SimNode } from './cluster.js';
import type { Prng } from './prng.js';
import { keepsMajority, latestViews, primaryBlock, strandsJoiner } from './quorum.js';
import type { FaultProfile } from './scenario.js';

export interface ChaosCounters {
  partitions: number;
  coordinatorCrashes: number;
  crashesOnFlush: number;
  crashesOnTransfer: number;
  lossBursts: number;
  garbage: number;
}

export class Chaos {
  readonly counters: ChaosCounters = {
    partitions: 0,
    coordinatorCrashes: 0,
    crashesOnFlush: 0,
    crashesOnTransfer: 0,
    lossBursts: 0,
    garbage: 0,
  };
  private running = false;
  private readonly baseLossRate: number;
  private partitionGeneration = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly random: Prng,
    private readonly profile: FaultProfile,
    /** The most nodes the run may have (joins add nodes). */
    private readonly maxNodes: number,
  ) {
    this.baseLossRate = cluster.network.knobs.lossRate;
  }

  start(): void {
    this.running = true;
    this.cluster.queue.after(this.profile.tickMs, () => this.tick());
  }

  /** Ends the safety phase: heal, stop all loss and duplication, disarm every trigger. */
  stop(): void {
    this.running = false;
    this.partitionGeneration++;
    this.cluster.network.heal();
    this.cluster.note('quiet phase: heal, no loss or duplication');
    this.cluster.network.knobs.lossRate = 0;
    this.cluster.network.knobs.duplicateRate = 0;
    this.cluster.onBlock = undefined;
    this.cluster.onSaveState = undefined;
  }

  private happens(perSecond: number): boolean {
    return this.random.chance((perSecond * this.profile.tickMs) / 1000);
  }

  private tick(): void {
    if (!this.running) return;
    const profile = this.profile;
    if (this.happens(profile.partitionPerSec) && !this.cluster.network.partitioned) this.partition();
    if (this.happens(profile.crashPerSec)) {
      const up = this.cluster.upNodes();
      if (up.length > 0) this.crash(this.random.pick(up));
    }
    if (this.happens(profile.coordinatorCrashPerSec)) {
      const coordinator = this.coordinatorNode();
      if (coordinator !== undefined && this.crash(coordinator)) this.counters.coordinatorCrashes++;
    }
    if (this.happens(profile.crashOnFlushPerSec) && this.cluster.onBlock === undefined) {
      this.cluster.onBlock = () => {
        this.cluster.onBlock = undefined;
        this.cluster.queue.after(this.random.real(0, 20), () => {
          const coordinator = this.coordinatorNode();
          if (!this.running || coordinator === undefined) return;
          this.cluster.note(`flush seen: crash the coordinator ${coordinator.current?.id}`);
          if (this.crash(coordinator)) this.counters.crashesOnFlush++;
        });
      };
    }
    if (this.happens(profile.crashOnTransferPerSec) && this.cluster.onSaveState === undefined) {
      this.cluster.onSaveState = (provider) => {
        this.cluster.onSaveState = undefined;
        this.cluster.queue.after(this.random.real(0, 10), () => {
          if (!this.running) return;
          this.cluster.note(`snapshot seen: crash the provider ${provider.id}`);
          if (this.crash(provider.node)) this.counters.crashesOnTransfer++;
        });
      };
    }
    if (this.happens(profile.joinPerSec) && this.cluster.nodes.length < this.maxNodes) {
      this.cluster.requestJoin(this.cluster.addNode(), 0);
    }
    if (this.happens(profile.leavePerSec)) this.leave();
    if (this.happens(profile.lossBurstPerSec) && this.cluster.network.knobs.lossRate === this.baseLossRate) {
      this.counters.lossBursts++;
      this.cluster.network.knobs.lossRate = this.random.real(0.2, 0.5);
      this.cluster.note(`loss burst ${(this.cluster.network.knobs.lossRate * 100).toFixed(0)}%`);
      this.cluster.queue.after(this.random.real(100, 800), () => {
        if (!this.running) return;
        this.cluster.network.knobs.lossRate = this.baseLossRate;
        this.cluster.note('loss burst over');
      });
    }
    if (this.happens(profile.garbagePerSec)) this.garbage();
    this.cluster.queue.after(this.profile.tickMs, () => this.tick());
  }

  private coordinatorNode(): SimNode | undefined {
    const coordinator = latestViews(this.cluster)[0]?.members[0];
    const inc = coordinator === undefined ? undefined : this.cluster.incarnation(coordinator);
    return inc?.alive ? inc.node : undefined;
  }

  /** Crashes `node` if the group keeps a majority; maybe schedules its restart. */
  private crash(node: SimNode): boolean {
    const without = new Set([node]);
    if (!node.current?.alive || !keepsMajority(this.cluster, without) || strandsJoiner(this.cluster, without)) return false;
    const restart = this.random.chance(this.profile.restartProbability);
    const [min, max] = this.profile.restartDelayMs;
    this.cluster.crash(node, restart ? this.random.real(min, max) : undefined);
    return true;
  }

  private leave(): void {
    const members = this.cluster.upNodes().filter((node) => node.current?.app.status === 'member' && !node.current.app.leaving);
    if (members.length === 0) return;
    const node = this.random.pick(members);
    if (!keepsMajority(this.cluster, new Set([node])) || strandsJoiner(this.cluster, new Set([node]))) return;
    const comesBack = this.random.chance(this.profile.returnAfterLeaveProbability);
    this.cluster.leave(node, comesBack ? this.random.real(100, 1500) : undefined);
  }

  /** A 2- or 3-way split of the up nodes that leaves one side a majority, healed later. */
  private partition(): void {
    const up = this.cluster.upNodes();
    if (up.length < 2) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const order = this.random.shuffle([...up]);
      const parts = this.random.chance(this.profile.threeWaySplitProbability) && up.length >= 3 ? 3 : 2;
      const cuts = new Set<number>();
      while (cuts.size < parts - 1) cuts.add(this.random.int(1, order.length - 1));
      const bounds = [0, ...[...cuts].sort((a, b) => a - b), order.length];
      const blocks = bounds.slice(1).map((end, i) => order.slice(bounds[i], end));
      const blockOf = new Map<SimNode, number>();
      blocks.forEach((nodes, block) => nodes.forEach((node) => blockOf.set(node, block)));
      const lookup = (node: SimNode): number => blockOf.get(node) ?? 0;
      if (!keepsMajority(this.cluster, new Set(), lookup)) continue;
      // Nodes still joining stay with the primary side: cut off, they would found a new group.
      const primary = primaryBlock(this.cluster, lookup);
      for (const node of up) if (node.current?.app.status === 'joining') blockOf.set(node, primary);
      // Nodes not up (restarting later) start on the primary side too.
      for (const node of this.cluster.nodes) if (!blockOf.has(node)) blockOf.set(node, primary);
      if (strandsJoiner(this.cluster, new Set(), (node) => blockOf.get(node) ?? primary)) continue;
      // The primary side is block 0, where nodes added during the partition appear.
      const relabel = (block: number): number => (block === primary ? 0 : block === 0 ? primary : block);
      const byBlock: number[][] = [];
      for (const [node, block] of blockOf) (byBlock[relabel(block)] ??= []).push(node.index);
      const nodeBlocks = byBlock.map((nodes) => nodes ?? []);
      if (nodeBlocks.filter((nodes) => nodes.length > 0).length < 2) return; // only joiners were cut off
      this.cluster.network.partition(nodeBlocks);
      const names = (nodes: number[]) => nodes.map((n) => this.cluster.nodes[n - 1]?.current?.id ?? `node ${n}`).join(',');
      this.cluster.note(`partition ${nodeBlocks.map((nodes) => `{${names(nodes)}}`).join(' | ')}`);
      this.cluster.counters.partitions++;
      this.counters.partitions++;
      const generation = ++this.partitionGeneration;
      const [min, max] = this.profile.partitionMs;
      this.cluster.queue.after(this.random.real(min, max), () => {
        if (generation !== this.partitionGeneration) return;
        this.cluster.network.heal();
        this.cluster.note('heal');
      });
      return;
    }
  }

  private garbage(): void {
    const up = this.cluster.upNodes();
    if (up.length === 0) return;
    const target = this.random.pick(up).current;
    if (target === undefined) return;
    const bytes = new Uint8Array(this.random.int(0, this.random.chance(0.1) ? 20_000 : 64));
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.random.int(0, 255);
    this.counters.garbage++;
    this.cluster.network.inject('intruder', target.id, bytes);
  }
}
