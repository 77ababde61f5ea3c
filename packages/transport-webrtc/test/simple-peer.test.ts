/**
 * Interoperability with a real simple-peer app: our Link speaks simple-peer's signal format, so a
 * simple-peer 9.11.1 initiator (with @roamhq/wrtc as its `wrtc`, as simple-peer apps in Node do) and
 * a Link connect by passing each other's signal objects as they are, and binary messages flow both
 * ways. The Link runs on node-datachannel and on @roamhq/wrtc. Not covered: a Link initiating
 * towards a simple-peer answerer, which binds to the last channel announced to it (our control
 * channel); opening the control channel from the answerer instead made @roamhq/wrtc abort the
 * process at exit now and then, and control-first ordering was not reliable on node-datachannel.
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SimplePeer from 'simple-peer';
import { Link, type LinkCounters } from '../src/link.js';
import { nodeDatachannel, wrtc } from '../src/rtc-node.js';
import type { RtcImplementation } from '../src/rtc.js';
import type { SimplePeerSignal } from '../src/signal.js';

function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

async function interop(implementation: RtcImplementation, linkInitiates: boolean): Promise<void> {
  const wrtcModule = (await import('@roamhq/wrtc')).default;
  implementation.acquire?.();
  const simple = new SimplePeer({ initiator: !linkInitiates, wrtc: wrtcModule, config: { iceServers: [] }, trickle: true });
  const fromLink: Uint8Array[] = [];
  const fromSimple: Uint8Array[] = [];
  let linkOpen = false;
  let linkClosed = '';
  let controlOpened = false;
  const counters: LinkCounters = { droppedBackpressure: 0, queuedFrames: 0 };
  const link = new Link(
    {
      initiator: linkInitiates,
      RTCPeerConnection: implementation.RTCPeerConnection,
      configuration: { ...implementation.configuration, iceServers: [] },
      channelLabel: 'synod',
      controlLabel: 'synod-control',
      highWaterBytes: 1 << 20,
      maxQueuedBytes: 1 << 20,
      connectTimeoutMs: 30_000,
      disconnectedGraceMs: 3000,
    },
    {
      // The two speak one format: each side's signals go to the other untouched (through JSON, as
      // an app's signaling channel would carry them).
      signal: (signal) => simple.signal(JSON.parse(JSON.stringify(signal))),
      open: () => (linkOpen = true),
      message: (data) => fromSimple.push(new Uint8Array(data as ArrayBuffer)),
      controlOpen: () => (controlOpened = true),
      control: () => undefined,
      close: (reason) => (linkClosed = reason),
    },
    counters,
  );
  simple.on('signal', (signal: unknown) => link.signal(JSON.parse(JSON.stringify(signal)) as SimplePeerSignal));
  simple.on('data', (data: Uint8Array) => fromLink.push(new Uint8Array(data)));
  let simpleConnected = false;
  simple.on('connect', () => (simpleConnected = true));
  simple.on('error', () => undefined); // a destroy during close may report one
  try {
    await waitFor(() => linkOpen && simpleConnected, `a connection (${implementation.name}, ${linkInitiates ? 'Link' : 'simple-peer'} initiates)`);
    const big = new Uint8Array(16 * 1024).map((_, i) => i & 0xff);
    for (let i = 0; i < 50; i++) link.send(Uint8Array.of(i, 1, 2, 3));
    link.send(big);
    for (let i = 0; i < 50; i++) simple.send(Uint8Array.of(i, 9, 9));
    simple.send(big);
    await waitFor(() => fromLink.length === 51 && fromSimple.length === 51, 'every message both ways');
    assert.deepEqual(fromLink.slice(0, 50).map((bytes) => bytes[0]), [...Array(50).keys()], 'in order, intact');
    assert.deepEqual(fromSimple.slice(0, 50).map((bytes) => [...bytes]), [...Array(50).keys()].map((i) => [i, 9, 9]));
    assert.deepEqual(fromLink[50], big);
    assert.deepEqual(fromSimple[50], big);
    assert.equal(counters.droppedBackpressure, 0);
    // A simple-peer initiator opens one channel, the data channel: no control channel.
    assert.equal(controlOpened, false);
    // simple-peer hangs up: the Link sees its channel close.
    simple.destroy();
    await waitFor(() => linkClosed !== '', 'the Link to see simple-peer hang up');
  } finally {
    simple.destroy();
    link.close('done');
    implementation.release?.();
  }
}

describe('interop with a simple-peer 9.11.1 app (@roamhq/wrtc)', () => {
  for (const [name, make] of [
    ['node-datachannel', () => nodeDatachannel({ bindAddress: '127.0.0.1' })],
    ['@roamhq/wrtc', () => wrtc()],
  ] as const) {
    it(`a Link on ${name} answers a simple-peer initiator, and they exchange messages`, { timeout: 120_000 }, async () => {
      await interop(await make(), false);
    });
  }
});
