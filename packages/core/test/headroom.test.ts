import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Member, SynodError } from '../src/index.js';
import { formThree } from './harness.js';

test('headroom: a runtime may write its envelope before every frame that has room, and nothing is corrupted', () => {
  const h = formThree({ frameHeadroomBytes: 24, suspectAfterMs: 5_000 });
  let withRoom = 0;
  for (const member of h.members.values()) {
    const takeOutput = member.takeOutput.bind(member);
    // What a runtime does with the room (peer envelope.ts), with bytes unlike any real header.
    member.takeOutput = () => {
      const output = takeOutput();
      for (const send of output.sends) {
        const room = send.headroomBytes ?? 0;
        if (room === 0) continue;
        withRoom++;
        assert.equal(room, 24);
        assert.ok(send.bytes.byteOffset >= room);
        new Uint8Array(send.bytes.buffer, send.bytes.byteOffset - room, room).fill(0xee);
      }
      return output;
    };
  }
  // Loss, so that kept frames are retransmitted after their room was written.
  let dropped = 0;
  h.drop = (from, to) => from === 'a' && to === 'c' && dropped++ % 5 === 0;
  const sizes = [1, 100, 1000, 4000, 40_000, 100_000];
  for (const size of sizes) h.do('a', (m) => m.send('fifo', new Uint8Array(size).fill(size % 251), h.nowMs));
  for (let i = 0; i < 50; i++) h.do('b', (m) => m.send('total', Uint8Array.of(i), h.nowMs));
  h.run(4000);
  assert.ok(withRoom > 0, 'frames came with room');
  for (const id of ['a', 'b', 'c']) {
    const fromA = h.deliveries(id).filter((d) => d.sender === 'a');
    assert.deepEqual(fromA.map((d) => d.payload.length), sizes, `${id} got a's messages`);
    for (const d of fromA) assert.ok(d.payload.every((byte) => byte === d.payload.length % 251), `${id}: a's bytes intact`);
    assert.deepEqual(h.deliveries(id).filter((d) => d.sender === 'b').map((d) => d.payload[0]), Array.from({ length: 50 }, (_, i) => i));
  }
});

test('headroom: frameHeadroomBytes must be an integer from 0 to 255', () => {
  for (const bad of [-1, 256, 1.5, Number.NaN]) {
    assert.throws(
      () => new Member({ self: 'a', group: 'g', random: () => 0.5, frameHeadroomBytes: bad }),
      (error: unknown) => error instanceof SynodError && error.code === 'INVALID_ARGUMENT',
    );
  }
});
