import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrame } from '../src/wire.js';
import { formThree } from './harness.js';

const text = new TextEncoder();

test('three members form a group and deliver every order', () => {
  const h = formThree();
  for (const id of ['a', 'b', 'c']) assert.deepEqual(h.members.get(id)!.view?.members, ['a', 'b', 'c'], id);
  for (const order of ['fifo', 'causal', 'total', 'safe'] as const) {
    for (const id of ['a', 'b', 'c']) h.do(id, (m) => m.send(order, text.encode(`${order} from ${id}`), h.nowMs));
  }
  h.run(2000);
  for (const id of ['a', 'b', 'c']) {
    const delivered = h.deliveries(id);
    assert.equal(delivered.length, 12, `${id} delivered ${delivered.length}`);
  }
  const totalOf = (id: string) => h.deliveries(id).filter((d) => d.order === 'total' || d.order === 'safe').map((d) => d.id);
  assert.deepEqual(totalOf('b'), totalOf('a'));
  assert.deepEqual(totalOf('c'), totalOf('a'));
});

test('messages sent before the output is taken share units (packing), and each is delivered on its own', () => {
  const h = formThree();
  const b = h.members.get('b')!;
  for (const order of ['fifo', 'causal', 'total', 'safe'] as const) {
    for (let i = 0; i < 10; i++) b.send(order, text.encode(`${order} ${i}`), h.nowMs);
  }
  b.send('fifo', new Uint8Array(5000), h.nowMs); // too large to pack: on its own
  const output = b.takeOutput();
  const dataFrames = output.sends.filter((send) => decodeFrame(send.bytes, 1 << 20).frame.kind === 'data');
  assert.equal(dataFrames.length, 5, 'one unit per order, and the large message');
  assert.equal(b.stats.packedMessages, 40);
  const sent = output.upcalls.filter((u) => u.type === 'sent');
  assert.equal(sent.length, 41);
  assert.equal(new Set(sent.map((u) => (u.type === 'sent' ? u.id : ''))).size, 41, 'every message has its own id');
  h.transmit('b', output);
  h.run(2000);
  for (const id of ['a', 'b', 'c']) {
    const texts = h.deliveries(id).map((d) => (d.payload.length === 5000 ? 'large' : new TextDecoder().decode(d.payload)));
    assert.equal(texts.length, 41, id);
    for (const order of ['fifo', 'causal', 'total', 'safe']) {
      assert.deepEqual(texts.filter((t) => t.startsWith(`${order} `)), Array.from({ length: 10 }, (_, i) => `${order} ${i}`), `${id} ${order}`);
    }
    const ids = h.deliveries(id).map((d) => d.id);
    assert.equal(new Set(ids).size, 41);
  }
  const ordered = (id: string) => h.deliveries(id).filter((d) => d.order === 'total' || d.order === 'safe').map((d) => d.id);
  assert.deepEqual(ordered('a'), ordered('b'));
  assert.deepEqual(ordered('c'), ordered('b'));
});
