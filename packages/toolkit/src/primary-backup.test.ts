import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynodError } from '@synod/core';
import type { Group, JoinOptions } from '@synod/peer';
import { World } from '@synod/sim/world';
import { pack, unpack } from './packing.js';
import { primaryBackup, type PrimaryBackup, type PrimaryBackupService } from './primary-backup.js';

const timing = { heartbeatMs: 20, suspectAfterMs: 200, retransmitMs: 10, discoveryMs: 100, flushTimeoutMs: 300 } satisfies JoinOptions;

/** A counter: requests add to it; the response is the new total. */
function counter(): PrimaryBackupService<number, number> & { total: number } {
  const service = {
    total: 0,
    apply: (add: number) => (service.total += add),
    save: () => Uint8Array.of(service.total),
    load: (bytes: Uint8Array) => void (service.total = bytes[0] ?? 0),
  };
  return service;
}

async function formed(world: World, count: number) {
  const peers = await world.peers(count);
  const services = peers.map(() => counter());
  const tools: PrimaryBackup<number, number>[] = [];
  const groups: Group[] = [];
  for (const [i, peer] of peers.entries()) {
    groups.push(await world.settle(peer.join('g', { ...timing, setup: (g) => void (tools[i] = primaryBackup(g, services[i]!)) })));
    await world.until(() => groups.every((g) => g.view?.members.length === i + 1), 'the view');
  }
  return { peers, services, tools, groups };
}

const code = (expected: string) => (error: unknown) => error instanceof SynodError && error.code === expected;

describe('primaryBackup', () => {
  it('runs a request at the primary and every member holds its effect', async () => {
    const world = new World({ seed: 1 });
    const { services, tools, groups } = await formed(world, 3);
    assert.equal(tools[0]!.primary, groups[0]!.memberId);
    assert.ok(tools[0]!.isPrimary && !tools[2]!.isPrimary);
    assert.equal(await world.settle(tools[2]!.request(5)), 5);
    assert.equal(await world.settle(tools[1]!.request(2)), 7);
    // Acknowledged once every member holds the update; each delivers it a moment later.
    await world.until(() => services.every((s) => s.total === 7) && tools.every((t) => t.appliedSeq === 2), 'every member to apply both');
    assert.deepEqual(tools.map((t) => t.appliedSeq), [2, 2, 2]);
    assert.equal(tools[0]!.stats.executed, 2);
  });

  it('gives a joiner the agreed state and response table', async () => {
    const world = new World({ seed: 2 });
    const { tools } = await formed(world, 2);
    await world.settle(tools[1]!.request(4));
    const [peer] = await world.peers(1);
    const late = counter();
    let tool!: PrimaryBackup<number, number>;
    await world.settle(peer!.join('g', { ...timing, setup: (g) => void (tool = primaryBackup(g, late)) }));
    assert.equal(late.total, 4);
    assert.equal(tool.appliedSeq, 1);
    assert.equal(await world.settle(tool.request(1)), 5);
  });

  it('drops malformed and stale tool messages and counts them', async () => {
    const world = new World({ seed: 3 });
    const { tools, groups, services } = await formed(world, 2);
    await world.settle(groups[1]!.fbcast('synod.pb/default/request', { c: 'x', n: 'one' }));
    await world.settle(groups[1]!.fbcast('synod.pb/default/update', pack({ s: 9, e: [] }, [Uint8Array.of(99)])));
    await world.settle(groups[0]!.fbcast('synod.pb/default/update', 'junk'));
    await world.run(100);
    assert.equal(tools[0]!.stats.droppedMalformed, 2);
    assert.equal(tools[1]!.stats.staleUpdates, 1);
    assert.deepEqual(services.map((s) => s.total), [0, 0]);
  });

  it('a retried request is not run twice', async () => {
    const world = new World({ seed: 4 });
    const { tools, groups, services } = await formed(world, 2);
    await world.settle(tools[1]!.request(3));
    const request = { c: tools[1]!.clientId, n: 1, f: 1, d: 3 };
    await world.settle(groups[1]!.fbcast('synod.pb/default/request', request));
    await world.run(100);
    assert.equal(services[0]!.total, 3);
    assert.equal(tools[0]!.stats.duplicates, 1);
  });

  it('answers a service failure with an error, and keeps serving', async () => {
    const world = new World({ seed: 5 });
    const [peer] = await world.peers(1);
    const service = counter();
    const failing = { ...service, apply: (add: number) => (add < 0 ? Promise.reject(new Error('negative')) : service.apply(add)) };
    let tool!: PrimaryBackup<number, number>;
    await world.settle(peer!.join('g', { ...timing, setup: (g) => void (tool = primaryBackup(g, failing)) }));
    await assert.rejects(world.settle(tool.request(-1)), /the service failed: negative/);
    assert.equal(await world.settle(tool.request(2)), 2);
  });

  it('throws SynodError on misuse', async () => {
    const world = new World({ seed: 6 });
    const [peer] = await world.peers(1);
    await assert.rejects(
      world.settle(peer!.join('g', { ...timing, setup: (g) => void primaryBackup(g, { apply: () => 1 } as never) })),
      code('INVALID_ARGUMENT'), // the setup threw: the join fails
    );
    let tool!: PrimaryBackup;
    await world.settle(peer!.join('h', { ...timing, setup: (g) => void (tool = primaryBackup(g, counter() as never)) }));
    await assert.rejects(tool.request(Uint8Array.of(1) as never), code('INVALID_ARGUMENT'));
    await assert.rejects(tool.request(1, { timeoutMs: -1 }), code('INVALID_ARGUMENT'));
    const pending = tool.request(1, { timeoutMs: 1000 });
    tool.close();
    await assert.rejects(pending, code('CLOSED'));
    await assert.rejects(tool.request(1), code('CLOSED'));
  });

  it('a client in a minority times out with TIMEOUT', async () => {
    const world = new World({ seed: 7 });
    const { tools, peers } = await formed(world, 3);
    world.partition([[peers[0]!, peers[1]!], [peers[2]!]]);
    await assert.rejects(world.settle(tools[2]!.request(1, { timeoutMs: 50 })), code('TIMEOUT'));
  });
});

describe('packing', () => {
  it('round-trips a header and blobs, and refuses malformed bytes', () => {
    const packed = pack({ a: 1 }, [Uint8Array.of(1, 2), new Uint8Array(0)]);
    assert.deepEqual(unpack(packed), { header: { a: 1 }, blobs: [Uint8Array.of(1, 2), new Uint8Array(0)] });
    assert.equal(unpack('text'), undefined);
    assert.equal(unpack(Uint8Array.of(0, 0, 0, 9, 1)), undefined);
    assert.equal(unpack(packed.subarray(0, packed.length - 1)), undefined);
    assert.equal(unpack(Uint8Array.of(0, 0, 0, 1, 0xff)), undefined);
  });
});
