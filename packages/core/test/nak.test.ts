import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formThree } from './harness.js';

// a's frames to c wait 60 ms (a deep transport queue, as a WebRTC link's under load), while b gets
// them at once and its digests tell c, within 20 ms, what a has sent.
function slowLinkFromAToC() {
  const h = formThree({ suspectAfterMs: 5_000 });
  h.delayFor = (to, from) => (from === 'a' && to === 'c' ? 60 : 1);
  return h;
}

test('NAK: units only heard of from another member are not asked for while their sender talks (they are on their way)', () => {
  const h = slowLinkFromAToC();
  for (let i = 0; i < 20; i++) h.do('a', (m) => m.send('fifo', new Uint8Array(100 + i), h.nowMs));
  h.run(1500);
  assert.equal(h.deliveries('c').filter((d) => d.sender === 'a').length, 20);
  assert.equal(h.members.get('c')!.stats.naksSent, 0, 'c waited for the units on their way');
  assert.equal(h.members.get('a')!.stats.retransmitsSent, 0, 'nothing went twice');
});

/** a sends 20 messages; the last (19 bytes of 0xab) never reaches c. */
function lastUnitLostToC(h: ReturnType<typeof formThree>): () => number {
  let dropped = 0;
  const isLast = (bytes: Uint8Array) => bytes.length >= 19 && bytes.subarray(bytes.length - 19).every((byte) => byte === 0xab);
  h.drop = (from, to, bytes) => {
    if (from !== 'a' || to !== 'c' || dropped > 0 || !isLast(bytes)) return false;
    dropped++;
    return true;
  };
  for (let i = 0; i < 19; i++) h.do('a', (m) => m.send('fifo', new Uint8Array(100), h.nowMs));
  h.do('a', (m) => m.send('fifo', new Uint8Array(19).fill(0xab), h.nowMs));
  return () => dropped;
}

test('NAK: a lost last unit is asked for on its sender own digest', () => {
  const h = formThree({ suspectAfterMs: 5_000 });
  const dropped = lastUnitLostToC(h);
  h.run(1500);
  assert.equal(dropped(), 1);
  assert.equal(h.deliveries('c').filter((d) => d.sender === 'a').length, 20, 'recovered');
  assert.ok(h.members.get('c')!.stats.naksSent > 0);
});

test('NAK: a lost last unit whose sender crashed comes from a member that holds it', () => {
  const h = formThree();
  const dropped = lastUnitLostToC(h);
  h.crash('a');
  h.run(3000);
  assert.equal(dropped(), 1);
  assert.equal(h.deliveries('b').filter((d) => d.sender === 'a').length, 20, 'b got every message before the crash');
  assert.equal(h.deliveries('c').filter((d) => d.sender === 'a').length, 20, 'c too, from b');
  assert.deepEqual(h.views('c').at(-1), [h.views('c').at(-1)![0], 2], 'a view without a');
});
