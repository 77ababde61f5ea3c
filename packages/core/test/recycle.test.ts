import assert from 'node:assert/strict';
import { test } from 'node:test';
import { framePoolStats, setFramePoolChecks } from '../src/index.js';
import { formThree } from './harness.js';

test('frames go back to the pool and are used again, with loss and every order, and no delivery is corrupted', () => {
  // As in production (the harness turns checks on): shared slabs, zeroed and used again.
  setFramePoolChecks(false);
  const h = formThree({ suspectAfterMs: 5_000 });
  let dropped = 0;
  h.drop = (from, to) => from === 'b' && to === 'c' && dropped++ % 7 === 0; // NAKs and retransmissions
  const before = framePoolStats();
  const orders = ['fifo', 'causal', 'total', 'safe'] as const;
  const rounds = 1500;
  for (let round = 0; round < rounds; round++) {
    for (const sender of ['a', 'b', 'c']) {
      const order = orders[round % orders.length]!;
      // 1000 B packs about fifteen to a frame; every 50th message is 40 KB: three fragments.
      const size = round % 50 === 7 ? 40_000 : 1000;
      h.do(sender, (m) => m.send(order, new Uint8Array(size).fill((round + sender.charCodeAt(0)) % 251), h.nowMs));
    }
    if (round % 10 === 9) h.run(5);
  }
  h.run(3000);
  const after = framePoolStats();
  const recycled = after.slabsRecycled - before.slabsRecycled;
  const allocated = after.slabsAllocated - before.slabsAllocated;
  assert.ok(dropped > 0);
  assert.ok(recycled > allocated, `slabs used again (${recycled}) outnumber those allocated (${allocated})`);
  for (const id of ['a', 'b', 'c']) {
    const deliveries = h.deliveries(id);
    assert.equal(deliveries.length, rounds * 3, id);
    for (const delivery of deliveries) {
      const fill = delivery.payload[0]!;
      assert.ok(delivery.payload.every((byte) => byte === fill), `${id}: ${delivery.id} intact`);
    }
    for (const sender of ['a', 'b', 'c']) {
      orders.forEach((order, o) => {
        // FIFO per sender holds within each order (a total message may come after a later fifo one).
        const fills = deliveries.filter((d) => d.sender === sender && d.order === order).map((d) => d.payload[0]);
        const expected = Array.from({ length: rounds / orders.length }, (_, k) => (k * orders.length + o + sender.charCodeAt(0)) % 251);
        assert.deepEqual(fills, expected, `${id}: ${sender}'s ${order} messages, in order`);
      });
    }
  }
});
