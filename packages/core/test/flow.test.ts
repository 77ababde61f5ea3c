import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formThree } from './harness.js';

test('flow control: a slow member throttles the sender, whose buffers stay within the window', () => {
  const flowWindowBytes = 64 * 1024;
  const h = formThree({ flowWindowBytes, suspectAfterMs: 5_000 });
  // Everything to c now takes 20 ms: c acknowledges slowly.
  const original = h.delayMs;
  const slowTo = new Set(['c']);
  const deliverAt = (to: string) => (slowTo.has(to) ? 20 : original);
  h.delayFor = deliverAt;
  const a = h.members.get('a')!;
  const payload = new Uint8Array(1024);
  for (let i = 0; i < 1000; i++) h.do('a', (m) => m.send('fifo', payload, h.nowMs));
  let maxBuffered = 0;
  for (let t = 1000; t < 6000; t += 5) {
    h.run(t);
    maxBuffered = Math.max(maxBuffered, a.bufferedBytes());
  }
  const sentCount = h.upcalls.get('a')!.filter((u) => u.type === 'sent').length;
  assert.equal(sentCount, 1000, 'everything is eventually sent');
  assert.equal(h.deliveries('c').length, 1000, 'the slow member gets everything');
  // Own unstable units are capped by the window (plus one message in progress); what the others
  // sent is stored too, so allow their small share.
  assert.ok(maxBuffered <= flowWindowBytes + 8 * 1024, `a buffered ${maxBuffered} bytes`);
  assert.ok(maxBuffered >= flowWindowBytes / 2, 'the window was actually used');
});

test('backpressure: a congested transport holds new data, not the protocol; the data goes when it drains', () => {
  const h = formThree();
  const b = h.members.get('b')!;
  b.setCongested(true, h.nowMs);
  for (let i = 0; i < 5; i++) h.do('b', (m) => m.send('total', new Uint8Array(100), h.nowMs));
  h.run(1500);
  assert.equal(h.upcalls.get('b')!.filter((u) => u.type === 'sent').length, 0, 'nothing sent while congested');
  assert.equal(h.deliveries('a').length, 0);
  assert.deepEqual(b.view?.members, ['a', 'b', 'c'], 'heartbeats went on: nobody suspected b');
  h.do('b', (m) => m.setCongested(false, h.nowMs));
  h.run(2000);
  assert.equal(h.upcalls.get('b')!.filter((u) => u.type === 'sent').length, 5);
  for (const id of ['a', 'b', 'c']) assert.equal(h.deliveries(id).length, 5, id);
});

test('a burst limit splits what one drain sends, asks to be woken at once, and loses nothing', () => {
  const h = formThree({ maxBurstBytes: 4096 });
  const b = h.members.get('b')!;
  for (let i = 0; i < 40; i++) b.send('fifo', new Uint8Array(1000), h.nowMs); // 40 KB: packs of 16, one a burst
  const first = b.takeOutput();
  const dataBytes = first.sends.reduce((sum, send) => sum + send.bytes.length, 0);
  assert.ok(dataBytes > 4096 && dataBytes <= 4096 + 16 * 1024, `one burst (at most one unit past the limit): ${dataBytes} bytes`);
  assert.ok(b.stats.packedMessages < 40, 'not everything went in the first drain');
  assert.equal(first.wakeAtMs, h.nowMs, 'woken at once for the rest');
  h.transmit('b', first);
  h.at(h.nowMs, () => (b.tick(h.nowMs), h.flush('b')));
  h.run(2000);
  for (const id of ['a', 'b', 'c']) assert.equal(h.deliveries(id).length, 40, id);
});
