/**
 * Access control over real sockets (issue 3): a keyed group over UDP on loopback, its members found
 * through a real signaling server. A hostile party in the server's position (it is in the room, so
 * every member learns its address and a joiner asks it, and it knows the group's name but not its
 * key) tries to join without the key and with a guessed one, and sends forged frames built from
 * the authentic ones it was sent. Nothing of it reaches the group: its frames are dropped and
 * counted, the view never holds it, and the members deliver the same messages, theirs alone.
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createPeer, type Group, type Peer, type Transport } from '@synod/peer';
import { startSignalingServer } from '@synod/signaling/server';
import { udp } from '@synod/transport-udp';

const KEY = new TextEncoder().encode('e2e group secret, 32 bytes long!');
const timing = { heartbeatMs: 100, suspectAfterMs: 1500, discoveryMs: 150 };
const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The envelope (packages/peer/src/envelope.ts), rebuilt here as an outsider would from the wire. */
function envelope(frame: Uint8Array): { version: number; sender: string; headerEnd: number } {
  const groupLength = frame[1]!;
  const senderLength = frame[2 + groupLength]!;
  const senderAt = 3 + groupLength;
  return { version: frame[0]!, sender: new TextDecoder().decode(frame.subarray(senderAt, senderAt + senderLength)), headerEnd: senderAt + senderLength };
}

function header(version: number, group: string, sender: string): Uint8Array {
  const groupBytes = new TextEncoder().encode(group);
  const senderBytes = new TextEncoder().encode(sender);
  return Uint8Array.of(version, groupBytes.length, ...groupBytes, senderBytes.length, ...senderBytes);
}

describe('keyed group over UDP with a hostile party in the signaling server\'s position', () => {
  it('it can neither join nor inject', async () => {
    const server = await startSignalingServer({ port: 0 });
    closers.push(() => server.close());
    const signaling = { url: server.url, room: 'keyed' };
    const start = async (transport: Transport = udp({ signaling })): Promise<Peer> => {
      const made = await createPeer({ transport, trace: false });
      closers.push(() => made.close({ leave: false }));
      return made;
    };

    const members: Peer[] = [];
    const groups: Group[] = [];
    const delivered: string[][] = [];
    const joinKeyed = async (peer: Peer) => {
      const group = await peer.join('g', { ...timing, key: KEY });
      const seen: string[] = [];
      group.handle<string>('M', (message) => void seen.push(message.data));
      group.on('message', (message) => void seen.push(`unexpected ${message.kind}`));
      members.push(peer);
      groups.push(group);
      delivered.push(seen);
    };
    for (let i = 0; i < 3; i++) await joinKeyed(await start());
    await waitFor(() => groups.every((group) => group.view?.members.length === 3), 'a keyed view of three');

    // The hostile party announces itself in the room and keeps what it is sent.
    const hostile = udp({ signaling });
    const captured: Uint8Array[] = [];
    hostile.onMessage((_from, bytes) => captured.push(bytes));
    await hostile.start();
    closers.push(() => hostile.close());
    await waitFor(() => server.rooms().get('keyed')?.length === 4, 'the hostile party in the room');
    await waitFor(() => members.every((member) => member.transport.peers().includes(hostile.localId)), 'every member to know the hostile party');

    // A fourth member joins: it asks every peer it knows, the hostile party among them.
    await joinKeyed(await start());
    await waitFor(() => groups.every((group) => group.view?.members.length === 4), 'a keyed view of four');
    await waitFor(() => captured.length > 0, 'an authentic frame sent to the hostile party');
    const view = groups[0]!.view!;

    // It tries to join, without the key and with a guessed one.
    const intruders = [await start(), await start()];
    const attempts = [intruders[0]!.join('g', timing), intruders[1]!.join('g', { ...timing, key: 'a guess' })];
    for (const attempt of attempts) attempt.catch(() => undefined);

    // It sends forged frames to every member from its own socket (it cannot take a member's).
    const self = `${hostile.localId}/1`;
    const forged: Uint8Array[] = [];
    for (const frame of captured.slice(0, 5)) {
      const { headerEnd } = envelope(frame);
      const body = frame.subarray(headerEnd, frame.length - 16);
      const tag = frame.subarray(frame.length - 16);
      // Its own name on an authentic body, with the authentic tag, with a zero tag, and as a plain frame.
      forged.push(Uint8Array.of(...header(2, 'g', self), ...body, ...tag));
      forged.push(Uint8Array.of(...header(2, 'g', self), ...body, ...new Uint8Array(16)));
      forged.push(Uint8Array.of(...header(1, 'g', self), ...body));
    }
    assert.ok(forged.length >= 3);
    const spoofed = captured.slice(0, 5); // verbatim, naming the joiner: not from the joiner's address
    const before = members.map((member) => ({ ...member.stats }));
    for (const member of members) for (const frame of [...forged, ...spoofed]) hostile.send(member.id, frame);
    await sleep(timing.discoveryMs * 10);

    for (const [i, member] of members.entries()) {
      assert.ok(
        member.stats.droppedUnauthenticated - before[i]!.droppedUnauthenticated >= forged.length,
        `member ${i} counted every forged frame as unauthenticated`,
      );
      assert.ok(member.stats.droppedSpoofed - before[i]!.droppedSpoofed >= spoofed.length, `member ${i} counted the replays from the wrong address`);
      assert.equal(groups[i]!.stats.droppedUnauthenticated, member.stats.droppedUnauthenticated);
    }
    for (const group of groups) {
      assert.equal(group.view!.viewId, view.viewId);
      assert.deepEqual(group.view!.members, view.members);
      assert.ok(!group.view!.members.some((member) => member.startsWith(hostile.localId) || intruders.some((peer) => member.startsWith(peer.id))));
    }
    assert.ok(delivered.every((seen) => seen.length === 0), 'nothing delivered');
    for (const intruder of intruders) {
      const group = intruder.groups.get('g');
      assert.ok(!group?.view || group.view.members.every((member) => member.startsWith(intruder.id)), 'an intruder is alone if anywhere');
    }

    // The group works on, and delivers its own messages alone.
    for (let n = 0; n < 20; n++) await groups[n % 4]!.abcast('M', `m${n}`);
    await waitFor(() => delivered.every((seen) => seen.length === 20), '20 deliveries at every member');
    for (const seen of delivered.slice(1)) assert.deepEqual(seen, delivered[0]);
    assert.deepEqual([...delivered[0]!].sort(), Array.from({ length: 20 }, (_, n) => `m${n}`).sort());
  });
});
