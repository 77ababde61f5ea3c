import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness } from './harness.js';

const text = new TextEncoder();

test('three members form a group and deliver every order', () => {
  const h = new Harness();
  for (const id of ['a', 'b', 'c']) h.add(id);
  h.do('a', (m) => m.join([], 0));
  h.at(5, () => h.do('b', (m) => m.join(['a'], h.nowMs)));
  h.at(10, () => h.do('c', (m) => m.join(['a', 'b'], h.nowMs)));
  h.run(1000);
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
