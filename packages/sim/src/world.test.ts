import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group } from '@synod/peer';
import { World } from './world.js';

/** Joins `count` peers to one group and returns the groups once all see the full view. */
async function formed(world: World, count: number): Promise<Group[]> {
  const peers = await world.peers(count);
  const groups = await world.settle(Promise.all(peers.map((peer) => peer.join('g'))), 'the group to form');
  await world.until(() => groups.every((group) => group.view?.members.length === count), 'a full view');
  return groups;
}

async function script(seed: number): Promise<string[]> {
  const world = new World({ seed, lossRate: 0.05, duplicateRate: 0.05 });
  const groups = await formed(world, 3);
  const log: string[] = [];
  groups.forEach((group, index) => group.handle('N', (message) => void log.push(`${index}<-${message.sender}:${message.data as number}`)));
  for (let i = 0; i < 5; i++) for (const group of groups) void group.abcast('N', i);
  await world.run(2000);
  log.push(`t=${world.nowMs}`);
  return log;
}

describe('world: whole peers on the virtual clock', () => {
  it('runs the same seed the same way, down to every delivery', async () => {
    const first = await script(11);
    assert.equal(first.length, 3 * 15 + 1);
    assert.deepEqual(await script(11), first);
  });

  it('a crashed peer is excluded, and its timers stop', async () => {
    const world = new World({ seed: 3 });
    const groups = await formed(world, 3);
    const victim = groups[2];
    const views: number[] = [];
    groups[0]!.on('view', (view) => views.push(view.members.length));
    let fired = 0;
    victim!.clock.setTimer(() => fired++, 100);
    world.crash(victim!.memberId.split('/')[0]!);
    await world.until(() => views.includes(2), 'a view of two');
    assert.equal(fired, 0);
    assert.equal(world.isAlive(victim!.memberId.split('/')[0]!), false);
  });

  it('a minority side of a partition stops; the majority goes on; the heal merges them', async () => {
    const world = new World({ seed: 5 });
    const groups = await formed(world, 3);
    const address = (group: Group) => group.memberId.split('/')[0]!;
    let minority = false;
    groups[2]!.on('minority', () => (minority = true));
    world.partition([[address(groups[0]!), address(groups[1]!)], [address(groups[2]!)]]);
    await world.until(() => minority && groups[0]!.view?.members.length === 2, 'the majority to exclude the minority');
    world.heal();
    await world.until(() => groups.every((group) => group.view?.members.length === 3), 'the healed view of three');
  });
});
