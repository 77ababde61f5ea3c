import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group } from '@synod/peer';
import { World } from '@synod/sim/world';
import { formGroup, memoryDisk } from '../test/replicated-harness.js';
import { Reader, Writer } from './replicated-codec.js';
import { decodeBatch, replicated, type MapChange, type ReplicatedCounter, type ReplicatedLog, type ReplicatedMap } from './replicated.js';

interface Replicas {
  map: ReplicatedMap;
  counter: ReplicatedCounter;
  log: ReplicatedLog;
}

async function threeMembers(seed = 1, options: Parameters<typeof replicated>[3] = {}) {
  const world = new World({ seed });
  const replicas: Replicas[] = [];
  const { peers, groups } = await formGroup(world, 3, (group, index) => {
    replicas[index] = {
      map: replicated(group, 'm', 'map', options),
      counter: replicated(group, 'c', 'counter', options),
      log: replicated(group, 'l', 'log', options),
    };
  });
  return { world, peers, groups, replicas };
}

describe('replicated codec', () => {
  it('round-trips JSON values, bytes, strings and numbers', () => {
    const writer = new Writer(4);
    writer.value({ a: [1, 'é', null] });
    writer.value(new Uint8Array([1, 2, 3]));
    writer.string('🛩 D5');
    writer.f64(-1.5);
    const reader = new Reader(writer.finish());
    assert.deepEqual(reader.value(), { value: { a: [1, 'é', null] } });
    assert.deepEqual(reader.value(), { value: new Uint8Array([1, 2, 3]) });
    assert.equal(reader.string(), '🛩 D5');
    assert.equal(reader.f64(), -1.5);
    assert.ok(reader.done);
    assert.equal(reader.u8(), undefined);
  });

  it('malformed batches decode to undefined, never throw', () => {
    for (const bad of [undefined, 'text', new Uint8Array(), new Uint8Array([1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9]), new Uint8Array([1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 9])]) {
      assert.equal(decodeBatch(bad), undefined);
    }
  });
});

describe('replicated map, counter and log', () => {
  it('every member applies the same updates; updates of one turn travel as one multicast', async () => {
    const { world, replicas } = await threeMembers();
    const [a, b, c] = replicas as [Replicas, Replicas, Replicas];
    const changes: MapChange[] = [];
    c.map.on('change', (change) => changes.push(change));
    const done = Promise.all([a.map.set('x', 1), a.map.set('y', new Uint8Array([9])), b.map.set('x', 2), a.map.delete('y'), b.counter.add(5), a.counter.add(-2)]);
    const indexes = Promise.all([a.log.append('first'), b.log.append({ second: true })]);
    await world.settle(done);
    assert.deepEqual((await world.settle(indexes)).sort(), [0, 1]);
    assert.equal(a.map.stats.batchesSent, 1, 'four map updates in one turn: one batch');
    await world.until(() => replicas.every((r) => r.map.version === 4 && r.log.length === 2 && r.counter.version === 2), 'every member to apply all');
    for (const r of replicas) {
      assert.deepEqual([...r.map.entries()], [...a.map.entries()]);
      assert.equal(r.map.version, 4);
      assert.equal(r.counter.value, 3);
      assert.deepEqual(r.log.slice(), a.log.slice());
      assert.equal(r.map.digest, a.map.digest);
    }
    assert.equal(changes.length, 4);
    assert.ok(changes.every((change) => change.type !== 'load' && change.version > 0));
  });

  it('a safe update resolves once stable; reads are local', async () => {
    const { world, replicas } = await threeMembers(2);
    const [a, b] = replicas as [Replicas, Replicas];
    const value = await world.settle(a.counter.add(7, { safe: true }));
    assert.equal(value, 7);
    await world.until(() => b.counter.value === 7, 'b to apply');
  });

  it('a joiner gets every replica by state transfer', async () => {
    const { world, replicas } = await threeMembers(3);
    const [a] = replicas as [Replicas];
    await world.settle(Promise.all([a.map.set('k', 'v'), a.counter.add(2), a.log.append(1)]));
    const peer = await world.peer();
    let late: Replicas | undefined;
    await world.settle(
      peer.join('g', {
        heartbeatMs: 20,
        setup: (group) => (late = { map: replicated(group, 'm', 'map'), counter: replicated(group, 'c', 'counter'), log: replicated(group, 'l', 'log') }),
      }),
    );
    assert.equal(late!.map.get('k'), 'v');
    assert.equal(late!.counter.value, 2);
    assert.deepEqual(late!.log.slice(), [1]);
    assert.equal(late!.map.version, a.map.version);
    assert.equal(late!.map.digest, a.map.digest);
  });

  it('a malformed update from a peer is dropped and counted; misuse throws SynodError', async () => {
    const { world, groups, replicas } = await threeMembers(4);
    const [a, b] = replicas as [Replicas, Replicas];
    await world.settle(groups[1]!.abcast('synod.replicated/m/update', new Uint8Array([1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 77])));
    await world.settle(groups[1]!.abcast('synod.replicated/m/update', 'not bytes'));
    await world.settle(groups[1]!.abcast('synod.replicated/m/update', decodeFree(3)));
    await world.run(50);
    assert.equal(a.map.stats.droppedMalformed, 2);
    assert.equal(a.map.stats.droppedWrongType, 1);
    assert.equal(a.map.version, 0);
    assert.throws(() => a.map.set(3 as unknown as string, 1), { name: 'SynodError', code: 'INVALID_ARGUMENT' });
    assert.throws(() => a.map.set('k', undefined as never), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => a.map.set('k', { big: 1n } as never), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => a.counter.add(Number.NaN), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => replicated(groups[0]!, 'm', 'map'), { code: 'INVALID_ARGUMENT' }, 'one replica per name');
    assert.throws(() => replicated(groups[0]!, 'z', 'set' as never), { code: 'INVALID_ARGUMENT' });
    await world.settle(b.map.set('ok', true));
    assert.equal(a.map.get('ok'), true);
  });

  it('a restarted group reloads the stored copy; a joiner of a live group takes the transfer instead', async () => {
    const disks = [memoryDisk(), memoryDisk(), memoryDisk()];
    const world = new World({ seed: 5 });
    const made: ReplicatedMap[] = [];
    const { peers } = await formGroup(world, 2, (group, index) => (made[index] = replicated(group, 'm', 'map', { storage: disks[index]! })));
    await world.settle(Promise.all([made[0]!.set('a', 1), made[1]!.set('b', 2)]));
    await world.run(20);
    for (const peer of peers) world.crash(peer);
    // The whole group restarts from nothing: the first peer founds with its stored copy.
    const again = await world.peer();
    let restored: ReplicatedMap | undefined;
    await world.settle(again.join('g', { heartbeatMs: 20, setup: (group: Group) => (restored = replicated(group, 'm', 'map', { storage: disks[0]! })) }));
    await world.settle(restored!.ready);
    assert.deepEqual(Object.fromEntries(restored!.entries()), { a: 1, b: 2 });
    assert.equal(restored!.version, 2);
    // A joiner whose disk holds something else takes the group's state.
    await disks[2]!.put('synod.replicated/g/m', made[0]!.snapshot().slice()); // stale: a, b at version 2
    await world.settle(restored!.set('c', 3));
    const joiner = await world.peer();
    let joined: ReplicatedMap | undefined;
    await world.settle(joiner.join('g', { heartbeatMs: 20, setup: (group: Group) => (joined = replicated(group, 'm', 'map', { storage: disks[2]! })) }));
    await world.settle(joined!.ready);
    await world.run(50);
    assert.deepEqual(Object.fromEntries(joined!.entries()), { a: 1, b: 2, c: 3 });
    assert.equal(joined!.version, 3);
  });
});

/** A well-formed batch of another replica type (a counter's add) under the map's kind. */
function decodeFree(typeCode: number): Uint8Array {
  const writer = new Writer();
  writer.u8(1);
  writer.u8(typeCode);
  writer.u32(1);
  writer.u32(0);
  return writer.finish();
}
