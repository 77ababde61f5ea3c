/** A region on the simulator's World, without faults: the API's contract, one step at a time. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynodError } from '@synod/core';
import type { Group } from '@synod/peer';
import { memoryStorage } from '@synod/storage';
import { World } from '@synod/sim/world';
import { encodeDiffs } from '../src/diff.js';
import { map, type ApplyEvent, type Consistency, type Region, type RegionStorage, type Section } from '../src/index.js';

const timing = { heartbeatMs: 40, suspectAfterMs: 500, retransmitMs: 10, discoveryMs: 150, flushTimeoutMs: 500 };

async function regionGroup(world: World, count: number, consistency: Consistency, storage?: (i: number) => RegionStorage) {
  const peers = await world.peers(count);
  const regions: Region[] = [];
  const groups: Group[] = [];
  const applied: ApplyEvent[][] = [];
  for (let i = 0; i < count; i++) {
    applied[i] = [];
    const joinOptions = { ...timing, setup: (g: Group) => (regions[i] = map(g, 'r', { pages: 4, pageSize: 64, consistency, storage: storage?.(i), onApply: (e) => applied[i]!.push(e) })) };
    groups.push(await world.settle(peers[i]!.join('g', joinOptions), `peer ${i} joins`));
  }
  await world.until(() => groups.every((g) => g.view?.members.length === count), 'one full view');
  return { peers, groups, regions, applied };
}

describe('a region', () => {
  for (const consistency of ['release', 'causal'] as const) {
    it(`${consistency}: the next holder sees the released writes; every member converges`, async () => {
      const world = new World({ seed: 1 });
      const { regions } = await regionGroup(world, 3, consistency);
      const [a, b, c] = regions as [Region, Region, Region];
      const section = await world.settle(a.lock({ first: 0, last: 1 }, 'write'));
      section.page(0).setUint32(0, 0xdeadbeef);
      section.page(1).write(10, new TextEncoder().encode('hello'));
      assert.equal(b.read(0)[0], 0, 'not before the release');
      await world.settle(section.release());
      const next = await world.settle(b.lock(0, 'read'));
      assert.equal(next.page(0).getUint32(0), 0xdeadbeef);
      assert.throws(() => next.page(0).setUint8(0, 1), (e: unknown) => e instanceof SynodError && e.code === 'NOT_LOCKED');
      assert.throws(() => next.page(1), (e: unknown) => e instanceof SynodError && e.code === 'NOT_LOCKED');
      await world.settle(next.release());
      assert.throws(() => next.page(0).getUint8(0), (e: unknown) => e instanceof SynodError && e.code === 'NOT_LOCKED');
      assert.throws(() => section.page(0).setUint8(0, 1), (e: unknown) => e instanceof SynodError && e.code === 'NOT_LOCKED', 'a write after release');
      await world.until(() => c.version(1) === 1, 'c applies page 1');
      assert.equal(new TextDecoder().decode(c.read(1).subarray(10, 15)), 'hello');
      assert.deepEqual([a.version(0), b.version(0), c.version(0)], [1, 1, 1]);
      assert.ok(a.stats.diffBytesSent < 64, `diff of ${a.stats.diffBytesSent} bytes, not whole pages`);
    });
  }

  it('writers of one page take turns; a read-only copy outside a lock never shows a section in progress', async () => {
    const world = new World({ seed: 2 });
    const { regions } = await regionGroup(world, 3, 'release');
    const increments = regions.map(async (region) => {
      for (let i = 0; i < 5; i++) {
        await region.withLock(2, 'write', (s) => {
          const value = s.page(2).getUint32(0);
          s.page(2).setUint32(0, value + 1);
          assert.equal(region.read(2).length, 64);
        });
      }
    });
    await world.settle(Promise.all(increments));
    await world.until(() => regions.every((r) => r.version(2) === 15), 'every member applies 15 versions');
    for (const region of regions) assert.equal(new DataView(region.read(2).buffer).getUint32(0), 15);
  });

  it('a joiner receives the region by state transfer; a founder restores its stored copy', async () => {
    const world = new World({ seed: 3 });
    const stores = [memoryStorage(), memoryStorage(), memoryStorage()];
    const { peers, regions, groups } = await regionGroup(world, 2, 'release', (i) => stores[i]!);
    await world.settle(regions[0]!.withLock(3, 'write', (s) => s.page(3).setFloat64(8, Math.PI)));
    let joined!: Region;
    const peer = await world.peer();
    await world.settle(peer.join('g', { ...timing, setup: (g) => (joined = map(g, 'r', { pages: 4, pageSize: 64, storage: stores[2] })) }));
    await world.until(() => joined.version(3) === 1, 'the joiner has page 3');
    assert.equal(new DataView(joined.read(3).buffer).getFloat64(8), Math.PI);
    // Every member crashes; a fresh process founds the group again from one member's disk.
    for (const p of [...peers, peer]) world.crash(p);
    await world.run(100);
    const again = await world.peer();
    let restored!: Region;
    await world.settle(again.join('g', { ...timing, setup: (g) => (restored = map(g, 'r', { pages: 4, pageSize: 64, storage: stores[1] })) }));
    await world.settle(restored.ready);
    assert.equal(restored.version(3), 1);
    assert.equal(new DataView(restored.read(3).buffer).getFloat64(8), Math.PI);
    assert.equal(groups.length, 2);
  });

  it('a grant is not usable until the diff its release names is applied here', async () => {
    const world = new World({ seed: 5 });
    const { groups, regions } = await regionGroup(world, 2, 'release');
    // Member 0 speaks the region's protocol by hand: its release names version 1 before the diff exists.
    await world.settle(groups[0]!.safe('synod.objects/r/acquire', { request: 99, first: 0, last: 0, mode: 'write' }));
    await world.settle(groups[0]!.safe('synod.objects/r/release', { request: 99, versions: [[0, 1]] }));
    let section: Section | undefined;
    void regions[1]!.lock(0, 'read').then((s) => (section = s));
    await world.run(200);
    assert.equal(section, undefined, 'granted, but waiting for version 1 of page 0');
    await world.settle(groups[0]!.fbcast('synod.objects/r/diff', encodeDiffs({ request: 99, pages: [{ page: 0, version: 1, runs: [{ offset: 4, bytes: new Uint8Array([7, 7]) }] }] })));
    await world.until(() => section !== undefined, 'the lock once the diff is applied');
    assert.equal(section!.page(0).getUint16(4), 0x0707);
  });

  it('a view change gives up a named version that never came and an orphaned early diff, at every member', async () => {
    const world = new World({ seed: 6 });
    const { peers, groups, regions } = await regionGroup(world, 3, 'causal');
    // Member 0 releases naming version 1 of page 0, sends only a diff of version 2 (its version 1
    // is lost with it), and crashes.
    await world.settle(groups[0]!.safe('synod.objects/r/acquire', { request: 99, first: 0, last: 0, mode: 'write' }));
    await world.settle(groups[0]!.cbcast('synod.objects/r/diff', encodeDiffs({ request: 99, pages: [{ page: 0, version: 2, runs: [{ offset: 0, bytes: new Uint8Array([9]) }] }] })));
    await world.settle(groups[0]!.safe('synod.objects/r/release', { request: 99, versions: [[0, 1]] }));
    let section: Section | undefined;
    void regions[1]!.lock(0, 'write').then((s) => (section = s));
    await world.run(200);
    assert.equal(section, undefined, 'waiting for version 1, which is gone with its writer');
    world.crash(peers[0]!);
    await world.until(() => section !== undefined, 'the grant after the view change');
    section!.page(0).setUint8(1, 5);
    await world.settle(section!.release());
    await world.until(() => regions[2]!.version(0) === 1, 'member 2 applies the new version 1');
    for (const region of regions.slice(1)) {
      assert.deepEqual([...region.read(0).subarray(0, 2)], [0, 5], 'the orphaned diff never applied');
      assert.ok(region.stats.versionsAbandoned >= 1);
    }
  });

  it('malformed region messages are dropped and counted', async () => {
    const world = new World({ seed: 4 });
    const { groups, regions } = await regionGroup(world, 2, 'release');
    await world.settle(groups[0]!.fbcast('synod.objects/r/diff', new Uint8Array([1, 2, 3])));
    await world.settle(groups[0]!.safe('synod.objects/r/acquire', { request: 1, first: 3, last: 9, mode: 'write' }));
    await world.settle(groups[0]!.safe('synod.objects/r/release', 'nonsense'));
    await world.run(50);
    assert.equal(regions[1]!.stats.droppedMalformed, 3);
  });

  for (const ending of ['leave', 'close'] as const) {
    it(`a waiting lock rejects with NOT_JOINED when the ${ending === 'leave' ? 'group is left' : 'peer closes'}; a held section is lost and undone`, async () => {
      const world = new World({ seed: 5 });
      const { peers, groups, regions } = await regionGroup(world, 3, 'release');
      const [a, b] = regions as [Region, Region, Region];
      await world.settle(b.lock(0, 'write'));
      const held = await world.settle(a.lock(1, 'write'));
      held.page(1).setUint8(0, 7);
      let lost = 0;
      held.onLost(() => lost++);
      const waiting: { settled: boolean; error?: unknown } = { settled: false };
      a.lock(0, 'write').then(
        () => (waiting.settled = true),
        (error: unknown) => Object.assign(waiting, { settled: true, error }),
      );
      await world.run(100);
      assert.equal(waiting.settled, false, 'page 0 is held by the other member');
      await world.settle(ending === 'leave' ? groups[0]!.leave() : peers[0]!.close({ leave: false }));
      assert.ok(waiting.settled, 'the wait ended by the time the group was left');
      const error = waiting.error as SynodError;
      assert.ok(error instanceof SynodError && error.code === 'NOT_JOINED', String(error));
      assert.equal((error.cause as SynodError).code, ending === 'leave' ? 'NOT_JOINED' : 'CLOSED');
      assert.equal(lost, 1);
      assert.equal(held.valid(), false);
      assert.equal(a.read(1)[0], 0, 'the lost section’s write is undone');
      await assert.rejects(a.lock(2, 'read'), (e: unknown) => e instanceof SynodError && e.code === 'NOT_JOINED');
      await world.until(() => b.holders(1).length === 0, 'the others drop the leaver’s lock');
    });
  }
});
