import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reply } from '@synod/peer';
import { World } from '@synod/sim/world';
import { formGroup } from '../test/replicated-harness.js';
import { rpc, type Rpc } from './rpc.js';

async function threeServers(seed: number) {
  const world = new World({ seed });
  const tools: Rpc[] = [];
  const { peers, groups } = await formGroup(world, 3, (group, index) => {
    const tool = (tools[index] = rpc(group));
    tool.handle<number, number>('square', (x) => x * x + index / 10);
    // A slow server: member 2 answers after 50 ms (it leaves the monitor so other calls go on).
    tool.handle('slow', async (_args, message) => {
      message.leaveMonitor();
      await new Promise((resolve) => group.clock.setTimer(() => resolve(undefined), index === 2 ? 50 : 1));
      return index;
    });
    if (index !== 1) tool.handle('partial', () => index); // member 1 has no handler: it declines
  });
  return { world, peers, groups, tools };
}

const senders = (replies: Reply[]) => replies.map((reply) => reply.data as number).sort();

describe('group rpc', () => {
  it('gathers replies by filter: all, first, majority, n, predicate', async () => {
    const { world, tools } = await threeServers(1);
    const caller = tools[0]!;
    assert.deepEqual((await world.settle(caller.call('square', 3))).map((r) => r.data).sort(), [9, 9.1, 9.2]);
    assert.equal((await world.settle(caller.call('square', 2, { filter: 'first', order: 'fbcast' }))).length, 1);
    assert.equal((await world.settle(caller.call('square', 2, { filter: 'majority', order: 'cbcast' }))).length, 2);
    assert.equal((await world.settle(caller.call('square', 2, { filter: 2, order: 'safe' }))).length, 2);
    // The predicate sees replies as they come: stop at the slow member's answer.
    const seen: number[] = [];
    const replies = await world.settle(caller.call('slow', null, { filter: (so) => (seen.push(so.length), so.some((r) => r.data === 2)) }));
    assert.deepEqual(senders(replies), [0, 1, 2]);
    assert.deepEqual(seen, [1, 2], 'the third reply completes the view without asking');
    const early = await world.settle(caller.call('slow', null, { filter: (so) => so.length >= 2 }));
    assert.deepEqual(senders(early), [0, 1], 'resolved before the slow member answered');
    assert.equal(tools[2]!.stats.served > 0, true);
  });

  it('a member without a handler declines: the call resolves with the others', async () => {
    const { world, tools } = await threeServers(2);
    assert.deepEqual(senders(await world.settle(tools[1]!.call('partial'))), [0, 2]);
  });

  it('a replier that crashes is dropped at the next view: the call resolves with what it can get', async () => {
    const { world, peers, tools } = await threeServers(3);
    const call = tools[0]!.call('slow', null, { filter: 'all' });
    await world.run(20); // delivered everywhere; member 2 is still working
    world.crash(peers[2]!);
    const replies = await world.settle(call);
    assert.deepEqual(senders(replies), [0, 1]);
  });

  it('times out with SynodError TIMEOUT when the filter is not met in time', async () => {
    const { world, tools } = await threeServers(4);
    const started = world.nowMs;
    const call = tools[0]!.call('slow', null, { filter: 'all', timeoutMs: 20 });
    await assert.rejects(world.settle(call), { name: 'SynodError', code: 'TIMEOUT' });
    assert.ok(world.nowMs - started >= 20 && world.nowMs - started < 50);
  });

  it('misuse throws SynodError INVALID_ARGUMENT', async () => {
    const { tools } = await threeServers(5);
    const tool = tools[0]!;
    assert.throws(() => tool.call('square', 1, { filter: 0 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => tool.call('square', 1, { filter: 'some' as never }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => tool.call('square', 1, { order: 'loud' as never }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => tool.call('', 1), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => tool.handle('x', 'no' as never), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(tool.call('square', 1, { timeoutMs: -1 }), { code: 'INVALID_ARGUMENT' });
  });
});
