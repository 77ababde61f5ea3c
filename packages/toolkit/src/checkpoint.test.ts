import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { World } from '@synod/sim/world';
import { formGroup, memoryDisk } from '../test/replicated-harness.js';
import { checkpoint, decodeCheckpoint, type GroupCheckpoint } from './checkpoint.js';
import { replicated, type ReplicatedMap } from './replicated.js';

describe('group checkpoint', () => {
  it('every member saves the same cut; a malformed marker is dropped and counted; misuse throws', async () => {
    const world = new World({ seed: 1 });
    const disks = [memoryDisk(), memoryDisk(), memoryDisk()];
    const maps: ReplicatedMap[] = [];
    const tools: GroupCheckpoint[] = [];
    const { groups } = await formGroup(world, 3, (group, index) => {
      maps[index] = replicated(group, 'm', 'map');
      tools[index] = checkpoint(group, { storage: disks[index]!, parts: [maps[index]!] });
      assert.throws(() => checkpoint(group, { storage: disks[index]!, parts: [] }), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => checkpoint(group, { storage: disks[index]!, parts: [maps[index]!, maps[index]!], name: 'x' }), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => checkpoint(group, { storage: {} as never, parts: [maps[index]!], name: 'y' }), { code: 'INVALID_ARGUMENT' });
    });
    void maps[0]!.set('a', 1);
    const info = await world.settle(tools[1]!.take());
    assert.equal(info.seq, 1);
    await world.until(() => tools.every((tool) => tool.stats.saved === 1), 'every member to save');
    const stored = disks.map((disk) => disk.values.get('synod.checkpoint/g/checkpoint'));
    assert.ok(stored[0] && stored.every((bytes) => Buffer.compare(bytes!, stored[0]!) === 0), 'the same bytes on every disk');
    assert.equal(decodeCheckpoint(stored[0]!)!.parts.length, 1);
    await world.settle(groups[2]!.abcast('synod.checkpoint/checkpoint/mark', { not: 'a token' }));
    await world.run(20);
    assert.ok(tools.every((tool) => tool.stats.droppedMalformed === 1 && tool.latest!.seq === 1));
    for (let cut = 1; cut < stored[0]!.length; cut += 7) assert.equal(decodeCheckpoint(stored[0]!.subarray(0, cut)), undefined);
  });
});

describe('group checkpoint at founding', () => {
  it('a founder that takes a checkpoint before its stored one is read cuts the restored state, not the empty one', async () => {
    const disk = memoryDisk();
    {
      const world = new World({ seed: 2 });
      let map!: ReplicatedMap;
      let tool!: GroupCheckpoint;
      await formGroup(world, 1, (group) => {
        map = replicated(group, 'm', 'map');
        tool = checkpoint(group, { storage: disk, parts: [map] });
      });
      await world.settle(map.set('a', 1));
      assert.equal((await world.settle(tool.take())).seq, 1);
    }
    // The group restarts from this disk, whose reads are slow (IndexedDB, a busy file system).
    const world = new World({ seed: 3 });
    let map!: ReplicatedMap;
    let tool!: GroupCheckpoint;
    await formGroup(world, 1, (group) => {
      const slowDisk = {
        get: (key: string) =>
          new Promise<Uint8Array | undefined>((resolve) => group.clock.setTimer(() => void disk.get(key).then(resolve), 50)),
        put: disk.put,
        delete: disk.delete,
      };
      map = replicated(group, 'm', 'map');
      tool = checkpoint(group, { storage: slowDisk, parts: [map] });
    });
    const taken = await world.settle(tool.take(), 'a checkpoint right after founding');
    assert.equal(taken.seq, 2, 'numbering goes on from the stored checkpoint');
    assert.equal(map.get('a'), 1, 'the stored checkpoint was restored');
    const stored = decodeCheckpoint(disk.values.get('synod.checkpoint/g/checkpoint')!)!;
    assert.equal(stored.seq, 2);
    assert.deepEqual(stored.parts[0]![1], map.snapshot(), 'the new checkpoint holds the restored map');
  });
});
