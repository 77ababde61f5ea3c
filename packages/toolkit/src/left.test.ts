// Every tool's waits end when its group is left for good (the group's 'left' event: leave(), the
// peer closed, a leave that timed out), with SynodError NOT_JOINED; later calls fail the same way,
// and no timer of the tool stays set. An exclusion is not the end: the group rejoins.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynodError } from '@synod/core';
import type { Clock, Group, JoinOptions } from '@synod/peer';
import { World } from '@synod/sim/world';
import { checkpoint } from './checkpoint.js';
import { createLeader } from './leader.js';
import { createLocks } from './locks.js';
import { primaryBackup, type PrimaryBackupService } from './primary-backup.js';
import { replicated, type ReplicatedMap } from './replicated.js';
import { rpc } from './rpc.js';
import { distributedSnapshot } from './snapshot.js';
import { createToken } from './token.js';

const timing = { heartbeatMs: 20, suspectAfterMs: 200, retransmitMs: 10, discoveryMs: 100, flushTimeoutMs: 300 } satisfies JoinOptions;

/** The group as a tool sees it, with a clock that counts the timers the tool set and has neither cleared nor seen fire. */
function countingTimers(group: Group): { group: Group; liveTimers: () => number } {
  const live = new Set<unknown>();
  const clock: Clock = {
    now: () => group.clock.now(),
    setTimer: (callback, delayMs) => {
      const handle = group.clock.setTimer(() => {
        live.delete(handle);
        callback();
      }, delayMs);
      live.add(handle);
      return handle;
    },
    clearTimer: (handle) => {
      live.delete(handle);
      group.clock.clearTimer(handle);
    },
  };
  const seen = new Proxy(group, {
    get: (target, key) => {
      if (key === 'clock') return clock;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { group: seen, liveTimers: () => live.size };
}

/** `count` peers join one after the other, each making its tool in setup. */
async function form<T>(world: World, count: number, make: (group: Group, index: number) => T, options: JoinOptions = {}) {
  const peers = await world.peers(count);
  const tools: T[] = [];
  const groups: Group[] = [];
  const timers: (() => number)[] = [];
  for (const [i, peer] of peers.entries()) {
    const setup = (group: Group) => {
      const counted = countingTimers(group);
      timers[i] = counted.liveTimers;
      tools[i] = make(counted.group, i);
    };
    groups.push(await world.settle(peer.join('g', { ...timing, ...options, setup }), `peer ${i} joins`));
    await world.until(() => groups.every((g) => g.view?.members.length === i + 1), 'the view');
  }
  return { peers, groups, tools, timers };
}

/** Observes a promise without awaiting it (and without leaving its rejection unhandled). */
function watch<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** Rejected with NOT_JOINED, whose cause is the group's reason (`causeCode`). */
function assertLeft(wait: { settled: boolean; error?: unknown }, causeCode = 'NOT_JOINED'): void {
  assert.ok(wait.settled, 'the wait ended by the time the group was left');
  assert.ok(wait.error instanceof SynodError, `a SynodError, not ${String(wait.error)}`);
  assert.equal(wait.error.code, 'NOT_JOINED');
  assert.equal((wait.error.cause as SynodError | undefined)?.code, causeCode);
}

const isNotJoined = (error: unknown) => error instanceof SynodError && error.code === 'NOT_JOINED';

describe("tools end their waits when the group is left", () => {
  it('locks: a waiting acquire rejects when the group is left; held grants are lost; later acquires throw', async () => {
    const world = new World({ seed: 1 });
    const { groups, tools: locks, timers } = await form(world, 2, (group) => createLocks(group, { leaseMs: 300 }));
    await world.settle(locks[1]!.acquire('L'));
    const held = await world.settle(locks[0]!.acquire('M'));
    let lost = 0;
    held.onLost(() => lost++);
    const waiting = watch(locks[0]!.acquire('L'));
    await world.run(100);
    assert.equal(waiting.settled, false, 'L is held by the other member');
    await world.settle(groups[0]!.leave());
    assertLeft(waiting);
    assert.equal(lost, 1);
    assert.equal(held.valid(), false);
    assert.throws(() => locks[0]!.acquire('L'), isNotJoined);
    assert.equal(timers[0]!(), 0, 'no lease renewal or check stays set');
    await world.until(() => locks[1]!.holders('M').length === 0, 'the others drop the leaver’s grant');
  });

  it('locks: a waiting acquire rejects when the peer closes without leaving', async () => {
    const world = new World({ seed: 2 });
    const { peers, tools: locks, timers } = await form(world, 2, (group) => createLocks(group, { leaseMs: 300 }));
    await world.settle(locks[1]!.acquire('L'));
    const waiting = watch(locks[0]!.acquire('L'));
    await world.run(100);
    await world.settle(peers[0]!.close({ leave: false }));
    assertLeft(waiting, 'CLOSED');
    assert.throws(() => locks[0]!.acquire('L'), isNotJoined);
    assert.equal(timers[0]!(), 0);
  });

  it('locks: an exclusion is not the end: the member rejoins and acquires again', async () => {
    const world = new World({ seed: 3 });
    const { peers, groups, tools: locks } = await form(world, 3, (group) => createLocks(group, { leaseMs: 300 }));
    await world.settle(locks[0]!.acquire('L'));
    const waiting = watch(locks[2]!.acquire('L'));
    world.partition([[peers[0]!, peers[1]!], [peers[2]!]]);
    await world.until(() => groups[0]!.view?.members.length === 2, 'the majority goes on without p2');
    world.heal();
    await world.until(() => waiting.settled, 'p2 learns it was excluded');
    assert.equal((waiting.error as SynodError).code, 'EXCLUDED');
    await world.until(() => groups[2]!.view?.members.length === 3 && groups[2]!.view.members.includes(groups[2]!.memberId), 'p2 rejoins');
    const grant = await world.settle(locks[2]!.acquire('K'));
    assert.ok(grant.valid());
  });

  it('token: a waiting acquire rejects when the group is left; later acquires throw', async () => {
    const world = new World({ seed: 4 });
    const { groups, tools: tokens, timers } = await form(world, 2, (group) => createToken(group, { leaseMs: 300 }));
    await world.settle(tokens[1]!.acquire());
    const waiting = watch(tokens[0]!.acquire());
    await world.run(100);
    assert.equal(waiting.settled, false, 'the other member holds the token');
    await world.settle(groups[0]!.leave());
    assertLeft(waiting);
    assert.throws(() => tokens[0]!.acquire(), isNotJoined);
    assert.equal(tokens[0]!.holding(), false);
    assert.equal(timers[0]!(), 0);
  });

  it('leader: the leader stops leading when it leaves, and no timer stays', async () => {
    const world = new World({ seed: 5 });
    const { groups, tools: elections, timers } = await form(world, 2, (group) => createLeader(group, { leaseMs: 300 }));
    const leading: boolean[] = [];
    elections[0]!.onLeader((now) => leading.push(now));
    await world.until(() => elections[0]!.isLeader(), 'p0 leads');
    await world.settle(groups[0]!.leave());
    assert.deepEqual(leading, [true, false]);
    assert.equal(elections[0]!.leader, undefined);
    assert.equal(timers[0]!(), 0);
    await world.until(() => elections[1]!.isLeader(), 'p1 takes over');
  });

  it('checkpoint: a take that cannot be cut (cut off from the sequencer) rejects when the leave gives up', async () => {
    const world = new World({ seed: 6 });
    const disk = () => {
      const values = new Map<string, Uint8Array>();
      return { get: async (key: string) => values.get(key), put: async (key: string, value: Uint8Array) => void values.set(key, value), delete: async (key: string) => void values.delete(key) };
    };
    const { peers, groups, tools } = await form(
      world,
      3,
      (group) => checkpoint(group, { storage: disk(), parts: [replicated(group, 'm', 'map')] }),
      { leaveTimeoutMs: 200 },
    );
    world.partition([[peers[0]!, peers[1]!], [peers[2]!]]);
    const waiting = watch(tools[2]!.take());
    await world.run(100);
    assert.equal(waiting.settled, false);
    const leftAt = world.nowMs;
    await world.settle(groups[2]!.leave());
    assert.ok(world.nowMs - leftAt <= 200, 'within leaveTimeoutMs');
    assertLeft(waiting);
    await assert.rejects(tools[2]!.take(), isNotJoined);
  });

  it('replicated: an update sent but never delivered back rejects when the leave gives up', async () => {
    const world = new World({ seed: 7 });
    const { peers, groups, tools: maps } = await form(world, 3, (group): ReplicatedMap => replicated(group, 'm', 'map'), { leaveTimeoutMs: 200 });
    world.partition([[peers[0]!, peers[1]!], [peers[2]!]]);
    const waiting = watch(maps[2]!.set('k', 1));
    await world.run(100);
    assert.equal(waiting.settled, false);
    await world.settle(groups[2]!.leave());
    assertLeft(waiting);
    await assert.rejects(maps[2]!.set('k', 2), isNotJoined);
  });

  it('primaryBackup: a request the primary never answers rejects when the client’s peer closes', async () => {
    const world = new World({ seed: 8 });
    const service = (): PrimaryBackupService<number, number> => {
      let total = 0;
      return {
        apply: (add) => (add === 99 ? new Promise<number>(() => undefined) : (total += add)), // 99 never finishes
        save: () => Uint8Array.of(total),
        load: (bytes) => void (total = bytes[0] ?? 0),
      };
    };
    const { peers, tools, timers } = await form(world, 2, (group) => primaryBackup(group, service()));
    assert.equal(await world.settle(tools[1]!.request(1)), 1);
    const waiting = watch(tools[1]!.request(99));
    const bounded = watch(tools[1]!.request(2, { timeoutMs: 60_000 }));
    await world.run(100);
    assert.equal(waiting.settled || bounded.settled, false, 'the primary is stuck in apply');
    await world.settle(peers[1]!.close()); // leaves first, then closes
    assertLeft(waiting);
    assertLeft(bounded);
    assert.equal(timers[1]!(), 0, 'the timeout timer is cleared');
    await assert.rejects(tools[1]!.request(3), isNotJoined);
  });

  it('distributedSnapshot: a take a member never reports to rejects when the initiator leaves', async () => {
    const world = new World({ seed: 9 });
    const { groups, tools, timers } = await form(world, 2, (group, index) => {
      const tool = distributedSnapshot(group, { save: () => new Uint8Array() });
      if (index === 1) group.handle('STALL', () => new Promise<void>(() => undefined)); // p1's deliveries stop here
      return tool;
    });
    await world.settle(groups[0]!.fbcast('STALL'));
    const waiting = watch(tools[0]!.take());
    const bounded = watch(tools[0]!.take({ timeoutMs: 60_000 }));
    await world.run(100);
    assert.equal(waiting.settled || bounded.settled, false, 'p1 never delivers the markers');
    await world.settle(groups[0]!.leave());
    assertLeft(waiting);
    assertLeft(bounded);
    assert.equal(timers[0]!(), 0);
    await assert.rejects(tools[0]!.take(), isNotJoined);
  });

  it('rpc: a call still gathering replies ends as the group’s requests do (the tool holds no wait of its own)', async () => {
    const world = new World({ seed: 10 });
    const { groups, tools: calls } = await form(world, 2, (group, index) => {
      const tool = rpc(group);
      tool.handle('SLOW', () => (index === 1 ? new Promise<string>(() => undefined) : 'at once'));
      return tool;
    });
    const waiting = watch(calls[0]!.call('SLOW'));
    await world.run(100);
    assert.equal(waiting.settled, false, 'p1 never answers');
    await world.settle(groups[0]!.leave());
    assert.ok(waiting.settled && isNotJoined(waiting.error));
    await assert.rejects(calls[0]!.call('SLOW'), isNotJoined);
  });
});
