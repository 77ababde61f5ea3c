/**
 * What the replicated-data, RPC and checkpoint simulator tests share: short group timings, a group
 * of World peers made with a setup hook, and a memory "disk" per peer that outlives a crash.
 */
import type { Group, JoinOptions, Peer } from '@synod/peer';
import type { World } from '@synod/sim/world';
import type { ReplicaStorage } from '../src/replicated.js';

/** Virtual time is free: tight timings make failures and joins quick. */
export const simTiming = {
  heartbeatMs: 20,
  suspectAfterMs: 300,
  retransmitMs: 10,
  discoveryMs: 100,
  flushTimeoutMs: 300,
} satisfies JoinOptions;

export const addressOf = (group: Group): string => group.memberId.split('/')[0]!;

/** Peers join one after the other (each founder first), and the group forms a full view. */
export async function formGroup(world: World, count: number, setup: (group: Group, index: number) => void, name = 'g'): Promise<{ peers: Peer[]; groups: Group[] }> {
  const peers = await world.peers(count);
  const groups: Group[] = [];
  for (const [index, peer] of peers.entries()) {
    groups.push(await world.settle(peer.join(name, { ...simTiming, setup: (group) => setup(group, index) }), `peer ${index} to join`));
  }
  await world.until(() => groups.every((group) => group.view?.members.length === count), 'a full view');
  return { peers, groups };
}

/** A disk in memory: survives the crash of the peer that used it, as files do. */
export function memoryDisk(): ReplicaStorage & { readonly values: Map<string, Uint8Array> } {
  const values = new Map<string, Uint8Array>();
  return {
    values,
    get: async (key) => values.get(key)?.slice(),
    put: async (key, value) => void values.set(key, value.slice()),
    delete: async (key) => void values.delete(key),
  };
}

/**
 * Runs `run(seed)` for each seed and checks its history; a failure names the seed to replay and the
 * faults that run drew. `tally` sees each passing run (for the figures the test prints).
 */
export async function checkSeeds<H>(
  seeds: readonly number[],
  run: (seed: number) => Promise<{ history: H; faults: string[] }>,
  check: (history: H) => void,
  tally: (history: H, faults: string[]) => void,
): Promise<void> {
  for (const seed of seeds) {
    const world = { seed, describe: () => `seed ${seed}` } as World;
    await withSeed(world, async () => {
      const { history, faults } = await run(seed);
      try {
        check(history);
      } catch (error) {
        throw new Error(`${(error as Error).message}; faults: ${faults.join(', ')}`);
      }
      tally(history, faults);
    });
  }
}

/** Assertion errors name the seed to replay. */
export async function withSeed<T>(world: World, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`SEED=${world.seed} (${world.describe()}): ${message}`, { cause: error });
  }
}
