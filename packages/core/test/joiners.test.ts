/** Joiners whose state never comes, and packs against maxMessageBytes (found by review). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrame } from '../src/wire.js';
import { Harness, formThree } from './harness.js';

/** a's state transfer frames never arrive: its joiners wait for their state for ever. */
function transferLost(h: Harness): void {
  h.drop = (from, _to, bytes) => {
    const kind = decodeFrame(bytes, 1 << 20).frame.kind;
    return from === 'a' && (kind === 'xferChunk' || kind === 'xferWait');
  };
}

test('two joiners still waiting for the state of a crashed provider give up and join afresh (no view without a state holder)', () => {
  const h = new Harness();
  for (const id of ['a', 'j1', 'j2']) h.add(id);
  transferLost(h);
  h.do('a', (m) => m.join([], 0));
  h.at(100, () => h.do('j1', (m) => m.join(['a'], h.nowMs)));
  h.at(900, () => h.do('j2', (m) => m.join(['a'], h.nowMs)));
  h.run(2000);
  assert.deepEqual(h.members.get('a')!.view?.members, ['a', 'j1', 'j2']);
  h.crash('a');
  h.run(20_000);
  for (const id of ['j1', 'j2']) {
    const types = h.upcalls.get(id)!.map((u) => u.type);
    assert.ok(types.includes('excluded'), `${id} gave up: ${types.join(' ')}`);
    assert.ok(!types.includes('loadState'), `${id} never had a state`);
  }
});

test('a state holder that leaves on purpose while its joiner waits still leaves (the joiner joins afresh)', () => {
  const h = new Harness();
  for (const id of ['a', 'j1']) h.add(id);
  transferLost(h);
  h.do('a', (m) => m.join([], 0));
  h.at(100, () => h.do('j1', (m) => m.join(['a'], h.nowMs)));
  h.run(1000);
  h.do('a', (m) => m.leave(h.nowMs));
  h.run(5000);
  assert.ok(h.upcalls.get('a')!.some((u) => u.type === 'left'), 'a left');
  assert.ok(h.upcalls.get('j1')!.some((u) => u.type === 'excluded'), 'j1 was dropped with the state');
});

test('packs never exceed maxMessageBytes (receivers would refuse them and the stream would stall)', () => {
  const h = formThree({ maxMessageBytes: 1000 });
  for (let i = 0; i < 10; i++) h.members.get('b')!.send('fifo', new Uint8Array(500), h.nowMs);
  h.flush('b');
  h.run(3000);
  for (const id of ['a', 'b', 'c']) {
    assert.equal(h.deliveries(id).length, 10, id);
    assert.equal(h.members.get(id)!.stats.droppedMalformed, 0, id);
  }
});

test('a member in the minority with a full burst does not ask to be woken at once', () => {
  const h = formThree({ maxBurstBytes: 1024 });
  const b = h.members.get('b')!;
  for (let i = 0; i < 30; i++) b.send('fifo', new Uint8Array(900), h.nowMs);
  b.takeOutput(); // one burst goes (nowhere: a and c are gone), the rest waits
  h.crash('a');
  h.crash('c');
  b.linkDown('a', h.nowMs + 1);
  b.linkDown('c', h.nowMs + 1);
  const output = b.takeOutput();
  assert.ok(output.upcalls.some((u) => u.type === 'minority'));
  assert.ok(output.wakeAtMs !== undefined && output.wakeAtMs > h.nowMs + 1, `woken at ${output.wakeAtMs}, not at once`);
});
