/**
 * Load balancing over a live group in the simulator: at every view change, every member that
 * installed the view computes the same owner for every key (the checker), and only keys of departed
 * members move, plus keys to joiners.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { World } from '@synod/sim/world';
import { balancer, type Balancer } from '../src/balance.js';
import { formGroup } from './locks.world.js';

const keys = Array.from({ length: 200 }, (_, i) => `flight-${i}`);

/** Per view id, the owners each member computed; violations where two members disagree. */
export function checkOwnerAgreement(records: readonly { viewId: number; process: string; owners: readonly (string | undefined)[] }[]): string[] {
  const first = new Map<number, { process: string; owners: readonly (string | undefined)[] }>();
  const violations: string[] = [];
  for (const record of records) {
    const seen = first.get(record.viewId);
    if (!seen) first.set(record.viewId, record);
    else if (seen.owners.join() !== record.owners.join()) violations.push(`view ${record.viewId}: ${record.process} and ${seen.process} disagree`);
  }
  return violations;
}

describe('load balancing in the simulator', () => {
  it('members agree on owners in every view; a crash moves only the dead member’s keys; a joiner takes a share', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const world = new World({ seed, lossRate: 0.02 });
      const balancers: Balancer[] = [];
      const records: { viewId: number; process: string; owners: (string | undefined)[] }[] = [];
      const setup = (i: number) => ({
        setup: (group: import('@synod/peer').Group) => {
          const b = balancer(group);
          balancers[i] = b;
          b.onRebalance((view) => records.push({ viewId: view.viewId, process: `p${i}`, owners: keys.map((key) => b.owner(key)) }));
        },
      });
      const { peers, groups } = await formGroup(world, 4, setup);
      const before = keys.map((key) => balancers[0]!.owner(key));
      const victim = world.prng.int(0, 3);
      const victimId = groups[victim]!.memberId;
      world.crash(peers[victim]!);
      const survivor = victim === 0 ? 1 : 0;
      await world.until(() => groups[survivor]!.view!.members.length === 3, 'the survivors’ view');
      const after = keys.map((key) => balancers[survivor]!.owner(key));
      keys.forEach((key, i) => {
        if (before[i] !== victimId) assert.equal(after[i], before[i], `${world.describe()}: ${key} moved off a survivor`);
      });
      const [joiner] = await world.peers(1);
      const joined = await world.settle(joiner!.join('g', { heartbeatMs: 40, suspectAfterMs: 500, retransmitMs: 10, discoveryMs: 150, flushTimeoutMs: 500, ...setup(4) }));
      await world.until(() => groups[survivor]!.view!.members.length === 4, 'the joiner’s view');
      const withJoiner = keys.map((key) => balancers[survivor]!.owner(key));
      const moved = keys.filter((_, i) => withJoiner[i] !== after[i]);
      assert.ok(moved.every((key) => balancers[4]!.owner(key) === joined.memberId), `${world.describe()}: a key moved to a non-joiner`);
      assert.ok(moved.length > 20 && moved.length < 80, `${world.describe()}: the joiner took ${moved.length} of 200`);
      assert.deepEqual(checkOwnerAgreement(records), [], world.describe());
    }
  });

  it('the checker rejects two members that disagree on an owner', () => {
    assert.equal(
      checkOwnerAgreement([
        { viewId: 2, process: 'a', owners: ['x', 'y'] },
        { viewId: 2, process: 'b', owners: ['x', 'x'] },
      ]).length,
      1,
    );
  });
});
