import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynodError } from '@synod/core';
import type { Group, JoinOptions } from '@synod/peer';
import { World } from '@synod/sim/world';
import { distributedSnapshot, type DistributedSnapshot } from './snapshot.js';

const timing = { heartbeatMs: 20, suspectAfterMs: 200, retransmitMs: 10, discoveryMs: 100, flushTimeoutMs: 300 } satisfies JoinOptions;
const code = (expected: string) => (error: unknown) => error instanceof SynodError && error.code === expected;

/** Members whose state is the count of 'N' messages they delivered. */
async function formed(world: World, count: number) {
  const peers = await world.peers(count);
  const counts: number[] = peers.map(() => 0);
  const tools: DistributedSnapshot[] = [];
  const groups: Group[] = [];
  for (const [i, peer] of peers.entries()) {
    const setup = (group: Group) => {
      tools[i] = distributedSnapshot(group, { save: () => Uint8Array.of(counts[i]!) });
      tools[i]!.handle('N', () => void counts[i]!++);
    };
    groups.push(await world.settle(peer.join('g', { ...timing, setup })));
    await world.until(() => groups.every((g) => g.view?.members.length === i + 1), 'the view');
  }
  return { peers, counts, tools, groups };
}

describe('distributedSnapshot', () => {
  it('records every state and the messages in flight on each channel', async () => {
    const world = new World({ seed: 1 });
    const { tools, groups } = await formed(world, 3);
    // Sent just before the snapshot starts: the initiator's own state does not hold it yet, so it is
    // in flight on its channel to itself; every other member holds it in its state or its channel.
    void groups[1]!.fbcast('N', 'x');
    const cut = await world.settle(tools[1]!.take());
    assert.deepEqual(cut.members, groups[0]!.view!.members);
    for (const member of cut.members) {
      const inFlight = cut.channels.filter((c) => c.from === groups[1]!.memberId && c.to === member).flatMap((c) => c.messages);
      assert.equal(cut.states.get(member)![0]! + inFlight.length, 1, member);
      for (const m of inFlight) assert.deepEqual([m.kind, m.data, m.sender], ['N', 'x', groups[1]!.memberId]);
    }
    assert.equal(cut.states.get(groups[1]!.memberId)![0], 0);
    // Delivered before: in the states, no longer in flight.
    await world.run(100);
    const later = await world.settle(tools[0]!.take());
    assert.deepEqual([...later.states.values()].map((bytes) => bytes[0]), [1, 1, 1]);
    assert.deepEqual(later.channels, []);
  });

  it('drops malformed markers and reports and counts them', async () => {
    const world = new World({ seed: 2 });
    const { tools, groups } = await formed(world, 2);
    await world.settle(groups[1]!.fbcast('synod.snapshot/default/marker', { id: 7 }));
    await world.settle(groups[1]!.fbcast('synod.snapshot/default/report', 'junk'));
    await world.run(100);
    assert.equal(tools[0]!.stats.droppedMalformed, 2);
    // A marker of an unknown snapshot in the current view starts a recording everywhere, which completes.
    await world.settle(groups[1]!.fbcast('synod.snapshot/default/marker', { id: 'made-up', v: groups[1]!.view!.viewId }));
    await world.run(100);
    assert.equal(tools[0]!.stats.droppedMalformed, 2);
    assert.equal(await world.settle(tools[0]!.take()).then((cut) => cut.states.size), 2);
  });

  it('fails with VIEW_CHANGED when a member crashes and no attempt is left; restarts otherwise', async () => {
    const world = new World({ seed: 3 });
    const { tools, peers, groups } = await formed(world, 3);
    const once = tools[0]!.take({ attempts: 1 });
    const twice = tools[1]!.take({ attempts: 2 });
    world.crash(peers[2]!);
    await assert.rejects(world.settle(once), code('VIEW_CHANGED'));
    const cut = await world.settle(twice);
    assert.deepEqual(cut.members, [groups[0]!.memberId, groups[1]!.memberId]);
    assert.equal(tools[0]!.stats.aborted >= 1, true);
  });

  it('throws SynodError on misuse; close rejects what is pending', async () => {
    const world = new World({ seed: 4 });
    const [peer] = await world.peers(1);
    await assert.rejects(world.settle(peer!.join('g', { ...timing, setup: (g) => void distributedSnapshot(g, {} as never) })), code('INVALID_ARGUMENT'));
    let early: Promise<unknown> | undefined;
    let tool!: DistributedSnapshot;
    await world.settle(
      peer!.join('h', {
        ...timing,
        setup: (g) => {
          tool = distributedSnapshot(g, { save: () => new Uint8Array(0), name: 'n' });
          early = tool.take();
          early.catch(() => undefined);
        },
      }),
    );
    await assert.rejects(early!, code('NOT_JOINED'));
    await assert.rejects(tool.take({ attempts: 0 }), code('INVALID_ARGUMENT'));
    await assert.rejects(tool.take({ timeoutMs: 0 }), code('INVALID_ARGUMENT'));
    const pending = tool.take();
    tool.close();
    await assert.rejects(pending, code('CLOSED'));
  });
});
