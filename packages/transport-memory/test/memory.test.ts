import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transportCompliance } from '@synod/peer/compliance';
import { createHub, memory, type Hub } from '../src/index.js';

transportCompliance('memory', () => {
  const hub: Hub = createHub();
  return {
    create: (id) => memory({ hub, id }),
    kill: (transport) => hub.kill(transport.localId),
    injectRaw: (from, to, bytes) => hub.inject(from.localId, to.localId, bytes),
  };
});

describe('memory hub knobs', () => {
  it('refuses an address already used on the hub', async () => {
    const hub = createHub();
    const first = memory({ hub, id: 'a' });
    await first.start();
    await first.close();
    assert.throws(() => memory({ hub, id: 'a' }), { name: 'SynodError', code: 'INVALID_ARGUMENT' });
  });

  it('partitions and heals', async () => {
    const hub = createHub();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => memory({ hub, id }));
    await Promise.all([a!, b!, c!].map((t) => t.start()));
    const atB: number[] = [];
    const atC: number[] = [];
    b!.onMessage((_, bytes) => atB.push(bytes[0]!));
    c!.onMessage((_, bytes) => atC.push(bytes[0]!));
    hub.partition([['a', 'b'], ['c']]);
    assert.deepEqual(a!.peers(), ['b']);
    a!.send('b', Uint8Array.of(1));
    a!.send('c', Uint8Array.of(1));
    await hub.settle();
    hub.heal();
    a!.send('c', Uint8Array.of(2));
    await hub.settle();
    assert.deepEqual([atB, atC], [[1], [2]]);
    assert.equal(hub.stats.droppedPartition, 1);
  });

  it('loses frames at the configured rate', async () => {
    let next = 0;
    const hub = createHub({ random: () => [0.1, 0.9][next++ % 2]! });
    const [a, b] = ['a', 'b'].map((id) => memory({ hub, id }));
    await Promise.all([a!.start(), b!.start()]);
    const atB: number[] = [];
    b!.onMessage((_, bytes) => atB.push(bytes[0]!));
    hub.setLoss(0.5);
    for (let i = 0; i < 6; i++) a!.send('b', Uint8Array.of(i));
    await hub.settle();
    assert.deepEqual(atB, [1, 3, 5]);
    assert.equal(hub.stats.droppedLoss, 3);
  });

  it('kills a peer: silently, or with linkDown to the others', async () => {
    const hub = createHub();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => memory({ hub, id }));
    await Promise.all([a!, b!, c!].map((t) => t.start()));
    const down: string[] = [];
    a!.onLinkDown((peer) => down.push(peer));
    hub.kill('b', { silent: true });
    hub.kill('c');
    await hub.settle();
    assert.deepEqual(down, ['c']);
    assert.deepEqual(a!.peers(), []);
    assert.deepEqual(hub.live(), ['a']);
  });
});
