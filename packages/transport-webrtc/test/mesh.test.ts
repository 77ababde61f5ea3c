// The mesh beyond the compliance suite: a crashed peer is reported at once, and a broken link is
// mended through a neighbour while the signaling server is gone. Opens sockets: scripts/test.mjs
// runs it in a loopback-only network namespace.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSignalingServer, type SignalingServer } from '@synod/signaling/server';
import { webrtc, type WebRtcTransport } from '../src/index.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const closers: (() => Promise<unknown> | void)[] = [];
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

async function server(): Promise<SignalingServer> {
  const started = await startSignalingServer({ port: 0 });
  closers.push(() => started.close());
  return started;
}

function transport(url: string, room: string, rtc = 'node-datachannel'): WebRtcTransport {
  const made = webrtc({ signaling: url, room, rtc });
  closers.push(() => made.close());
  return made;
}

describe('webrtc mesh', () => {
  for (const rtc of ['node-datachannel', '@roamhq/wrtc']) {
    it(`reports a peer killed with SIGKILL within about a second (${rtc})`, { timeout: 20_000 }, async () => {
      const signaling = await server();
      const local = transport(signaling.url, 'crash', rtc);
      await local.start();
      const child = fork(CHILD, [signaling.url, 'crash', rtc], { execArgv: ['--conditions=source', '--import', 'tsx'], stdio: 'inherit' });
      closers.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
      await new Promise((resolve) => child.once('message', resolve));
      await waitFor(() => local.peers().length === 1, 'the link to the child');
      const down: string[] = [];
      local.onLinkDown((peer) => down.push(peer));
      const killedMs = performance.now();
      child.kill('SIGKILL');
      // ICE consent would take tens of seconds; the room's leave and an unanswered probe take one.
      await waitFor(() => down.length === 1, 'linkDown for the killed peer', 5000);
      assert.ok(performance.now() - killedMs < 4000);
      assert.deepEqual(local.peers(), []);
      assert.equal(local.stats.probesFailed, 1);
    });
  }

  it('mends a broken link through a neighbour while the signaling server is gone', { timeout: 30_000 }, async () => {
    const signaling = await server();
    const [a, b, c] = [0, 1, 2].map(() => transport(signaling.url, 'mend'));
    for (const t of [a!, b!, c!]) await t.start();
    const all = [a!, b!, c!];
    await waitFor(() => all.every((t) => t.peers().length === 2), 'a full mesh of 3');
    await signaling.close();
    // The offerer of the a–c pair breaks the link; the other side sees it go too.
    const [offerer, answerer] = a!.localId < c!.localId ? [a!, c!] : [c!, a!];
    const downs: string[] = [];
    answerer.onLinkDown((peer) => downs.push(peer));
    const relayedBefore = b!.stats.signalsRelayed;
    offerer.disconnect(answerer.localId);
    await waitFor(() => downs.includes(offerer.localId), 'linkDown at the other end');
    await waitFor(() => offerer.peers().includes(answerer.localId) && answerer.peers().includes(offerer.localId), 'the link mended', 15_000);
    assert.ok(b!.stats.signalsRelayed > relayedBefore, 'the neighbour handed the signals on');
    assert.ok(offerer.stats.signalsRelayed > 0 && answerer.stats.signalsRelayed > 0);
    // And it carries frames again.
    const got: number[] = [];
    answerer.onMessage((_, bytes) => got.push(bytes[0]!));
    offerer.send(answerer.localId, Uint8Array.of(7));
    await waitFor(() => got.length === 1, 'a frame over the mended link');
  });
});
