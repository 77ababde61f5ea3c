import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Harness } from './harness.js';

const text = new TextEncoder();

function formGroup(h: Harness, ids: string[]): void {
  for (const id of ids) h.add(id);
  h.do(ids[0]!, (m) => m.join([], 0));
  ids.slice(1).forEach((id, i) => h.at(5 + i * 5, () => h.do(id, (m) => m.join(ids.slice(0, i + 1), h.nowMs))));
  h.run(1000);
  for (const id of ids) assert.deepEqual(h.members.get(id)!.view?.members, ids, `${id} sees all`);
}

function idsOf(h: Harness, id: string, viewId: number, orders = ['fifo', 'causal', 'total', 'safe']): string[] {
  return h.deliveries(id).filter((d) => d.viewId === viewId && orders.includes(d.order)).map((d) => d.id);
}

test('a crashed member is excluded and survivors agree on what it sent', () => {
  const h = new Harness();
  formGroup(h, ['a', 'b', 'c']);
  const viewId = h.members.get('a')!.view!.viewId;
  for (let i = 0; i < 20; i++) h.do('c', (m) => m.send('total', text.encode(`c${i}`), h.nowMs));
  // c's messages reach only a; then c dies.
  h.drop = (from, to) => from === 'c' && to === 'b';
  h.run(1001);
  h.crash('c');
  h.drop = () => false;
  h.run(3000);
  assert.deepEqual(h.members.get('a')!.view?.members, ['a', 'b']);
  assert.deepEqual(h.members.get('b')!.view?.members, ['a', 'b']);
  assert.deepEqual(idsOf(h, 'a', viewId).sort(), idsOf(h, 'b', viewId).sort());
  assert.deepEqual(idsOf(h, 'a', viewId, ['total']), idsOf(h, 'b', viewId, ['total']));
  assert.equal(idsOf(h, 'b', viewId).length, 20);
});

test('the coordinator (sequencer) crashes with messages in flight', () => {
  const h = new Harness();
  formGroup(h, ['a', 'b', 'c', 'd', 'e']);
  const viewId = h.members.get('b')!.view!.viewId;
  for (const id of ['b', 'c', 'd', 'e']) for (let i = 0; i < 10; i++) h.do(id, (m) => m.send('total', text.encode(`${id}${i}`), h.nowMs));
  h.run(1000.5);
  h.crash('a');
  h.run(4000);
  for (const id of ['b', 'c', 'd', 'e']) assert.deepEqual(h.members.get(id)!.view?.members, ['b', 'c', 'd', 'e'], id);
  const reference = idsOf(h, 'b', viewId);
  assert.equal(reference.length, 40);
  for (const id of ['c', 'd', 'e']) assert.deepEqual(idsOf(h, id, viewId), reference, id);
});

test('a joiner receives a large state while others multicast, and a 5 MB message goes through', () => {
  const h = new Harness();
  formGroup(h, ['a', 'b']);
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
  h.states.set('a', () => big);
  h.add('c');
  h.do('c', (m) => m.join(['a', 'b'], h.nowMs));
  for (let i = 0; i < 50; i++) h.at(1000 + i, () => h.do('b', (m) => m.send('fifo', text.encode(`b${i}`), h.nowMs)));
  h.run(5000);
  const loaded = h.upcalls.get('c')!.find((u) => u.type === 'loadState');
  assert.ok(loaded && loaded.type === 'loadState');
  assert.deepEqual(loaded.state, big);
  const message = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 7) % 256);
  h.do('a', (m) => m.send('safe', message, h.nowMs));
  h.run(8000);
  for (const id of ['a', 'b', 'c']) {
    const got = h.deliveries(id).find((d) => d.payload.length === message.length);
    assert.ok(got, `${id} got the 5 MB message`);
    assert.deepEqual(got.payload, message);
  }
});

test('lossy links: 20% loss still delivers everything in order', () => {
  const h = new Harness();
  formGroup(h, ['a', 'b', 'c']);
  let n = 0;
  h.drop = () => h.random() < 0.2 && n++ >= 0;
  const viewId = h.members.get('a')!.view!.viewId;
  for (let i = 0; i < 30; i++) for (const id of ['a', 'b', 'c']) h.at(1000 + i, () => h.do(id, (m) => m.send(i % 2 ? 'causal' : 'total', text.encode(`${id}${i}`), h.nowMs)));
  h.run(6000);
  for (const id of ['a', 'b', 'c']) assert.equal(idsOf(h, id, viewId).length, 90, id);
  assert.deepEqual(idsOf(h, 'b', viewId, ['total']), idsOf(h, 'a', viewId, ['total']));
});

test('3/2 partition: the majority goes on, the minority stops and rejoins after the heal', () => {
  const h = new Harness();
  formGroup(h, ['a', 'b', 'c', 'd', 'e']);
  const side = (id: string) => (['a', 'b', 'c'].includes(id) ? 0 : 1);
  h.drop = (from, to) => side(from) !== side(to);
  h.run(3000);
  for (const id of ['a', 'b', 'c']) assert.deepEqual(h.members.get(id)!.view?.members, ['a', 'b', 'c'], id);
  for (const id of ['d', 'e']) assert.ok(h.upcalls.get(id)!.some((u) => u.type === 'minority'), `${id} reports minority`);
  h.drop = () => false;
  h.run(5000);
  for (const id of ['d', 'e']) assert.ok(h.upcalls.get(id)!.some((u) => u.type === 'excluded'), `${id} learns it was excluded`);
});

test('peers started together, each naming the others as contacts, form one group', () => {
  const h = new Harness();
  const ids = ['a', 'b', 'c', 'd'];
  for (const id of ids) h.add(id);
  // The shell knows addresses only: it names contacts by a guessed member id.
  for (const id of ids) h.do(id, (m) => m.join(ids.filter((other) => other !== id).map((other) => `${other}`), 0));
  h.run(2000);
  for (const id of ids) assert.deepEqual(h.members.get(id)!.view?.members.length, 4, id);
  const viewOnes = new Set(ids.flatMap((id) => h.upcalls.get(id)!.filter((u) => u.type === 'view' && u.view.viewId === 1).map((u) => (u.type === 'view' ? u.view.members.join() : ''))));
  assert.equal(viewOnes.size, 1, 'one founder');
});
