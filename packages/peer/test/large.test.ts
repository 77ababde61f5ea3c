import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPeer } from '../src/index.js';
import { cluster, timing, waitFor } from './cluster.js';
import { memory } from '@synod/transport-memory';

// The reviewer's scenarios of the core issue, on the real runtime: a joiner receives a 50 MB state
// while the others multicast, and a 5 MB message goes through in total order.
test('a joiner receives a 50 MB state while the others multicast; a 5 MB abcast reaches everyone', { timeout: 120_000 }, async () => {
  const state = new Uint8Array(50 * 1024 * 1024);
  for (let i = 0; i < state.length; i += 4096) state[i] = (i / 4096) % 251;
  const delivered = new Map<string, number>();
  const c = await cluster(2, {
    join: () => ({ state: { save: () => state, load: () => undefined }, suspectAfterMs: 5_000 }),
  });
  try {
    c.groups.forEach((group, i) => group.handle('TICK', () => void delivered.set(`p${i}`, (delivered.get(`p${i}`) ?? 0) + 1)));
    let stop = false;
    const ticker = (async () => {
      let n = 0;
      while (!stop) {
        await Promise.all(c.groups.map((group) => group.fbcast('TICK', n++)));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    let loaded: Uint8Array | undefined;
    const joiner = await createPeer({ transport: memory({ hub: c.hub, id: 'p2' }), trace: false });
    c.peers.push(joiner);
    const joinerGroup = await joiner.join('g', {
      ...timing,
      suspectAfterMs: 5_000,
      state: { save: () => state, load: (bytes) => void (loaded = bytes) },
    });
    c.groups.push(joinerGroup);
    stop = true;
    await ticker;
    assert.ok(loaded, 'state loaded');
    assert.equal(loaded.length, state.length);
    assert.deepEqual(loaded.subarray(0, 1 << 20), state.subarray(0, 1 << 20));
    assert.deepEqual(loaded.subarray(-(1 << 20)), state.subarray(-(1 << 20)));
    assert.ok((delivered.get('p0') ?? 0) > 10, 'the others kept multicasting during the transfer');

    const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31) % 256);
    const received: Uint8Array[] = [];
    c.groups.forEach((group) => group.handle<Uint8Array>('BIG', (msg) => void received.push(msg.data)));
    await c.groups[1]!.abcast('BIG', big);
    await waitFor(() => received.length === 3, 'the 5 MB message at all three members', 30_000);
    for (const copy of received) assert.deepEqual(copy, big);
  } finally {
    await c.close();
  }
});
