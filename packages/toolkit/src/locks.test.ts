import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group } from '@synod/peer';
import { World } from '@synod/sim/world';
import { createLocks, type LockEvent, type LockGrant, type Locks } from './locks.js';

const timing = { heartbeatMs: 40, suspectAfterMs: 500, retransmitMs: 10, discoveryMs: 150, flushTimeoutMs: 500 };

async function form(world: World, count: number) {
  const peers = await world.peers(count);
  const locks: Locks[] = [];
  const events: LockEvent[][] = [];
  const groups: Group[] = [];
  for (const [i, peer] of peers.entries()) {
    events[i] = [];
    groups.push(
      await world.settle(
        peer.join('g', { ...timing, setup: (group) => void (locks[i] = createLocks(group, { leaseMs: 300, onEvent: (event) => events[i]!.push(event) })) }),
      ),
    );
  }
  await world.until(() => groups.every((group) => group.view?.members.length === count), 'a full view');
  return { peers, groups, locks, events };
}

describe('locks', () => {
  it('FIFO: a waiting writer blocks later readers; fencing tokens increase; every member knows the queue', async () => {
    const world = new World({ seed: 1 });
    const { groups, locks, events } = await form(world, 3);
    const order: string[] = [];
    const take = (i: number, mode: 'read' | 'write') =>
      locks[i]!.acquire('L', mode).then((grant) => {
        order.push(`p${i}:${mode}:${grant.fencingToken}`);
        return grant;
      });
    const first = await world.settle(take(0, 'read'));
    assert.ok(first.valid());
    const writer = take(1, 'write');
    await world.run(50);
    const reader = take(2, 'read');
    await world.run(50);
    assert.deepEqual(locks[2]!.waiting('L').map((entry) => entry.mode), ['write', 'read'], 'the later reader queues behind the writer');
    assert.deepEqual(locks[0]!.holders('L').map((held) => held.member), [groups[0]!.memberId]);
    await world.settle(first.release());
    const second = await world.settle(writer);
    await world.run(50);
    assert.equal(order.length, 2, 'the reader waits while the writer holds');
    await world.settle(second.release());
    const third = await world.settle(reader);
    assert.ok(first.fencingToken < second.fencingToken && second.fencingToken < third.fencingToken);
    assert.equal(first.valid(), false);
    await world.run(50);
    assert.deepEqual(events[0]!.map((e) => e.type), events[1]!.map((e) => e.type));
  });

  it('a crashed holder’s lock is re-granted once its lease has run out; withLock; timeouts withdraw the request', async () => {
    const world = new World({ seed: 2 });
    const { peers, locks } = await form(world, 3);
    const held = await world.settle(locks[2]!.acquire('L'));
    await assert.rejects(world.settle(locks[0]!.acquire('L', 'write', { timeoutMs: 100 })), { code: 'TIMEOUT' });
    await world.run(50);
    assert.equal(locks[1]!.waiting('L').length, 0, 'the timed-out request left the queue');
    const crashedAt = world.nowMs;
    world.crash(peers[2]!);
    let grant: LockGrant | undefined;
    const result = await world.settle(
      locks[0]!.withLock('L', 'write', (g) => {
        grant = g;
        return 'done';
      }),
    );
    assert.equal(result, 'done');
    assert.ok(grant!.fencingToken > held.fencingToken);
    assert.ok(world.nowMs - crashedAt >= 300, 'waits out the crashed holder’s lease');
    assert.equal(grant!.valid(), false, 'released by withLock');
  });

  it('drops and counts malformed requests; misuse throws SynodError', async () => {
    const world = new World({ seed: 3 });
    const { groups, locks } = await form(world, 2);
    await world.settle(groups[0]!.abcast('synod.lock/default/acquire', { name: 'L', mode: 'exclusive', request: 1 }));
    await world.settle(groups[0]!.abcast('synod.lock/default/release', 'garbage'));
    await world.run(50);
    assert.equal(locks[1]!.stats.droppedMalformed, 2);
    assert.equal(locks[1]!.waiting('L').length, 0);
    assert.throws(() => locks[0]!.acquire(''), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => locks[0]!.acquire('L', 'exclusive' as 'write'), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => locks[0]!.acquire('L', 'write', { timeoutMs: -1 }), { code: 'INVALID_ARGUMENT' });
  });

  it('a joiner receives the queue and the fencing counter by state transfer', async () => {
    const world = new World({ seed: 4 });
    const { locks } = await form(world, 2);
    const held = await world.settle(locks[0]!.acquire('L'));
    const [peer] = await world.peers(1);
    let joinerLocks: Locks | undefined;
    await world.settle(peer!.join('g', { ...timing, setup: (group) => void (joinerLocks = createLocks(group, { leaseMs: 300 })) }));
    assert.equal(joinerLocks!.holders('L')[0]?.fencingToken, held.fencingToken);
    const waiting = joinerLocks!.acquire('L');
    await world.run(50);
    await world.settle(held.release());
    const grant = await world.settle(waiting);
    assert.equal(grant.fencingToken, held.fencingToken + 1);
  });
});
