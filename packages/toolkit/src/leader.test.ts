import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { World } from '@synod/sim/world';
import { createLeader, type LeaderElection } from './leader.js';

const timing = { heartbeatMs: 40, suspectAfterMs: 500, retransmitMs: 10, discoveryMs: 150, flushTimeoutMs: 500 };

describe('leader selection', () => {
  it('the oldest member leads once its lease is fresh; a minority stops it at once; the successor waits out the lease', async () => {
    const world = new World({ seed: 1 });
    const peers = await world.peers(3);
    const elections: LeaderElection[] = [];
    const events: string[] = [];
    const groups = [];
    for (const [i, peer] of peers.entries()) {
      groups.push(
        await world.settle(
          peer.join('g', {
            ...timing,
            setup: (group) => {
              elections[i] = createLeader(group, { leaseMs: 300 });
              elections[i]!.onLeader((leading) => events.push(`p${i}:${leading}@${Math.round(world.nowMs)}`));
            },
          }),
        ),
      );
    }
    await world.until(() => elections[0]!.isLeader(), 'p0 to lead');
    assert.equal(elections[1]!.leader, groups[0]!.memberId);
    assert.equal(elections[1]!.isLeader(), false);
    let minorityAt = 0;
    groups[0]!.on('minority', () => (minorityAt = world.nowMs));
    const cutAt = world.nowMs;
    world.partition([[peers[0]!], [peers[1]!, peers[2]!]]);
    await world.until(() => elections[1]!.isLeader(), 'p1 to lead');
    assert.equal(elections[0]!.isLeader(), false);
    assert.equal(elections[0]!.leader, undefined, 'a minority names no leader');
    assert.ok(minorityAt > 0);
    // p1 leads no sooner than a lease after the cut: p0's last renewal may have been just before it.
    assert.ok(world.nowMs - cutAt >= 300, `p1 led ${world.nowMs - cutAt} ms after the cut`);
    assert.deepEqual(events.map((event) => event.split('@')[0]), ['p0:true', 'p0:false', 'p1:true']);
  });

  it('rejects a bad instance name', async () => {
    const world = new World({ seed: 2 });
    const [peer] = await world.peers(1);
    await assert.rejects(world.settle(peer!.join('g', { ...timing, setup: (group) => void createLeader(group, { instance: 'a/b' }) })), {
      code: 'INVALID_ARGUMENT',
    });
  });
});
