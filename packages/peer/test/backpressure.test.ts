import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHub, memory } from '@synod/transport-memory';
import type { Transport } from '@synod/core';
import { createPeer, type Group } from '../src/index.js';
import { agreeOnView, sleep, timing, waitFor } from './cluster.js';

/** A memory transport that says it is congested while `congested` is set, and drains on demand. */
function congestible(transport: Transport) {
  const drains = new Set<() => void>();
  const control = { congested: false, drain: () => (control.congested = false, drains.forEach((handler) => handler())) };
  const wrapped = Object.assign(Object.create(transport) as Transport, {
    congested: () => control.congested,
    onDrain: (handler: () => void) => (drains.add(handler), () => drains.delete(handler)),
  });
  return { transport: wrapped, control };
}

describe('transport backpressure', () => {
  it('a congested transport holds new data (the group stays up), and the data goes when it drains', async () => {
    const hub = createHub();
    const slow = congestible(memory({ hub, id: 'p0' }));
    const peers = [await createPeer({ transport: slow.transport, trace: false })];
    for (const id of ['p1', 'p2']) peers.push(await createPeer({ transport: memory({ hub, id }), trace: false }));
    try {
      const groups: Group[] = [];
      for (const peer of peers) groups.push(await peer.join('g', timing));
      await agreeOnView(groups, 3);
      const got = groups.map(() => [] as number[]);
      groups.forEach((group, i) => group.handle<number>('n', (message) => void got[i]!.push(message.data)));
      slow.control.congested = true;
      const sent = [1, 2, 3].map((n) => groups[0]!.abcast('n', n));
      await sleep(timing.suspectAfterMs * 1.5);
      assert.deepEqual(got, [[], [], []], 'nothing went while the transport was congested');
      assert.equal(groups[1]!.view?.members.length, 3, 'heartbeats and acks still went: nobody was suspected');
      slow.control.drain();
      await Promise.all(sent);
      await waitFor(() => got.every((list) => list.length === 3), 'the held messages to arrive');
      assert.deepEqual(got, [[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    } finally {
      await Promise.all(peers.map((peer) => peer.close({ timeoutMs: 500 })));
    }
  });
});
