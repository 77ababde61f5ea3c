import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group } from '@synod/peer';
import { World } from '@synod/sim/world';
import { createToken, type Token } from './token.js';

const timing = { heartbeatMs: 40, suspectAfterMs: 500, retransmitMs: 10, discoveryMs: 150, flushTimeoutMs: 500 };

async function form(world: World, count: number) {
  const peers = await world.peers(count);
  const tokens: Token[] = [];
  const groups: Group[] = [];
  for (const [i, peer] of peers.entries()) {
    groups.push(await world.settle(peer.join('g', { ...timing, setup: (group) => void (tokens[i] = createToken(group, { leaseMs: 300 })) })));
  }
  await world.until(() => groups.every((group) => group.view?.members.length === count), 'a full view');
  return { peers, groups, tokens };
}

describe('token', () => {
  it('starts idle at the oldest member, passes on request, waits for the holder to release, is regenerated after a crash', async () => {
    const world = new World({ seed: 1 });
    const { peers, groups, tokens } = await form(world, 3);
    await world.until(() => tokens[0]!.holding(), 'the founder to hold the idle token');
    const local = await world.settle(tokens[0]!.acquire());
    assert.ok(local.valid());
    const remote = tokens[1]!.acquire();
    await world.run(100);
    assert.deepEqual(tokens[2]!.queue, [groups[1]!.memberId], 'every member knows the queue');
    assert.equal(tokens[1]!.holding(), false);
    local.release();
    assert.equal(local.valid(), false);
    const passed = await world.settle(remote);
    assert.ok(passed.generation > local.generation);
    assert.equal(tokens[2]!.holder, groups[1]!.memberId);
    // Idle at p1: p2's request makes it pass at once.
    passed.release();
    const third = await world.settle(tokens[2]!.acquire());
    const crashedAt = world.nowMs;
    world.crash(peers[2]!);
    const regenerated = await world.settle(tokens[0]!.acquire());
    assert.ok(regenerated.generation > third.generation);
    assert.ok(world.nowMs - crashedAt >= 300, 'the regenerated token waits out the dead holder’s lease');
  });

  it('drops and counts malformed messages; a bad timeout throws', async () => {
    const world = new World({ seed: 2 });
    const { groups, tokens } = await form(world, 2);
    await world.settle(groups[0]!.abcast('synod.token/default/pass', { to: 5 }));
    await world.settle(groups[0]!.abcast('synod.token/default/request', 'x'));
    await world.run(50);
    assert.equal(tokens[1]!.stats.droppedMalformed, 2);
    assert.throws(() => tokens[0]!.acquire({ timeoutMs: 0 }), { code: 'INVALID_ARGUMENT' });
  });

  it('a member with several local waiters passes the token to a requester elsewhere instead of keeping it for ever', async () => {
    const world = new World({ seed: 3 });
    const { groups, tokens } = await form(world, 2);
    await world.until(() => tokens[0]!.holding(), 'the founder to hold the idle token');
    const sleep = (ms: number) => new Promise<void>((resolve) => groups[0]!.clock.setTimer(() => resolve(), ms));
    // Two tasks at p0 take turns with the token, each asking again as soon as it released it.
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const grant = await tokens[0]!.acquire();
        await sleep(5);
        grant.release();
      }
    };
    void worker();
    void worker();
    await world.run(50);
    const remote = tokens[1]!.acquire();
    let got = false;
    void remote.then(() => (got = true));
    await world.until(() => got, 'p1 to get the token', 5_000).finally(() => (stop = true));
    (await remote).release();
  });

  it('a member that asks while it rejoins after an exclusion gets the token once it is back', async () => {
    const world = new World({ seed: 5 });
    const { peers, groups, tokens } = await form(world, 3);
    const held = await world.settle(tokens[0]!.acquire());
    let excluded = false;
    groups[2]!.on('excluded', () => (excluded = true));
    world.partition([[peers[0]!, peers[1]!], [peers[2]!]]);
    await world.until(() => groups[0]!.view?.members.length === 2, 'the majority to go on without p2');
    world.heal();
    await world.until(() => excluded, 'p2 to learn it was excluded');
    assert.ok(!groups[2]!.view!.members.includes(groups[2]!.memberId), 'p2 asks while it rejoins under a new id');
    // A rejoining group cannot send yet: the request must go once p2 is back, not be lost.
    const waiting = tokens[2]!.acquire();
    await world.until(() => groups[2]!.view?.members.includes(groups[2]!.memberId) === true, 'p2 to rejoin');
    held.release();
    const grant = await world.settle(waiting, 'p2 to get the token', 5_000);
    assert.ok(grant.valid());
    assert.ok(grant.generation > held.generation);
  });
});

