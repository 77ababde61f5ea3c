/**
 * The compliance suite every transport runs (js-libp2p's interface tests, for Synod):
 *
 *   import { transportCompliance } from '@synod/peer/compliance';
 *   transportCompliance('memory', () => { const hub = createHub(); return { create: (id) => memory({ hub, id }) }; });
 *
 * It registers node:test tests: open, send/receive, a datagram at the MTU, buffer ownership,
 * asynchronous delivery, oversized frames, FIFO on a link where promised, sends to dead peers,
 * close and peer loss (linkDown), and hostile frames at a receiving peer (dropped and counted).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, envelopeHeader } from './envelope.js';
import { createPeer } from './peer.js';
import type { PeerAddress, Transport } from './transport.js';

export interface ComplianceNetwork {
  /** A transport on this network, not yet started. `id` is a hint some transports ignore. */
  create(id?: PeerAddress): Transport | Promise<Transport>;
  /** Crash a transport abruptly, if the family can (default: the suite uses close()). */
  kill?(transport: Transport): void | Promise<void>;
  /** Deliver raw bytes to `to` as if from `from`, bypassing the sender's checks (oversized frames). */
  injectRaw?(from: Transport, to: Transport, bytes: Uint8Array): void;
  teardown?(): void | Promise<void>;
}

export interface ComplianceOptions {
  /** How long to wait for something that must happen (a frame, a linkDown). Default 2000 ms. */
  readonly timeoutMs?: number;
  /** How long to wait before concluding something did not happen. Default 50 ms. */
  readonly quietMs?: number;
}

interface Received {
  readonly from: PeerAddress;
  readonly bytes: Uint8Array;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) globalThis.crypto.getRandomValues(bytes.subarray(at, Math.min(length, at + 65536)));
  return bytes;
}

export function transportCompliance(
  name: string,
  setup: () => ComplianceNetwork | Promise<ComplianceNetwork>,
  options: ComplianceOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 2000;
  const quietMs = options.quietMs ?? 50;

  /** Runs a test body with started transports, closing everything afterwards. */
  async function withTransports(count: number, body: (transports: Transport[], network: ComplianceNetwork) => Promise<void>): Promise<void> {
    const network = await setup();
    const transports: Transport[] = [];
    try {
      for (let i = 0; i < count; i++) transports.push(await network.create());
      await Promise.all(transports.map((transport) => transport.start()));
      for (const transport of transports) {
        const others = transports.filter((other) => other !== transport).map((other) => other.localId);
        await waitFor(() => others.every((other) => transport.peers().includes(other)), timeoutMs, `${transport.localId} to reach its peers`);
      }
      await body(transports, network);
    } finally {
      for (const transport of transports) await transport.close();
      await network.teardown?.();
    }
  }

  function collect(transport: Transport): Received[] {
    const received: Received[] = [];
    transport.onMessage((from, bytes) => received.push({ from, bytes }));
    return received;
  }

  describe(`transport compliance: ${name}`, () => {
    it('opens with an address and an MTU, and sees its peers but not itself', async () => {
      await withTransports(3, async ([a, b, c]) => {
        for (const transport of [a!, b!, c!]) {
          assert.equal(typeof transport.localId, 'string');
          assert.ok(transport.localId.length > 0);
          assert.ok(Number.isInteger(transport.mtuBytes) && transport.mtuBytes >= 64, 'mtuBytes is an integer ≥ 64');
          assert.equal(typeof transport.orderedLinks, 'boolean');
          assert.ok(!transport.peers().includes(transport.localId));
        }
        assert.equal(new Set([a!.localId, b!.localId, c!.localId]).size, 3, 'addresses are distinct');
      });
    });

    it('sends and receives datagrams both ways, naming the sender', async () => {
      await withTransports(2, async ([a, b]) => {
        const atA = collect(a!);
        const atB = collect(b!);
        a!.send(b!.localId, Uint8Array.of(1, 2, 3));
        b!.send(a!.localId, Uint8Array.of(4, 5));
        await waitFor(() => atA.length === 1 && atB.length === 1, timeoutMs, 'one datagram each way');
        assert.deepEqual(atB[0], { from: a!.localId, bytes: Uint8Array.of(1, 2, 3) });
        assert.deepEqual(atA[0], { from: b!.localId, bytes: Uint8Array.of(4, 5) });
        assert.ok(a!.stats.framesSent >= 1 && b!.stats.framesReceived >= 1);
      });
    });

    it('carries a datagram of exactly mtuBytes intact', async () => {
      await withTransports(2, async ([a, b]) => {
        const atB = collect(b!);
        const frame = randomBytes(a!.mtuBytes);
        a!.send(b!.localId, frame);
        await waitFor(() => atB.length === 1, timeoutMs, 'the MTU-sized datagram');
        assert.deepEqual(atB[0]!.bytes, frame);
      });
    });

    it('does not take ownership of the buffer and never delivers re-entrantly', async () => {
      await withTransports(2, async ([a, b]) => {
        const atB = collect(b!);
        let sending = false;
        let reentered = false;
        a!.onMessage(() => (reentered ||= sending));
        b!.onMessage(() => (reentered ||= sending));
        const buffer = Uint8Array.of(7, 7, 7);
        sending = true;
        a!.send(b!.localId, buffer);
        b!.send(a!.localId, buffer);
        sending = false;
        buffer.fill(0);
        await waitFor(() => atB.length === 1, timeoutMs, 'the datagram');
        assert.deepEqual(atB[0]!.bytes, Uint8Array.of(7, 7, 7));
        assert.equal(reentered, false, 'a handler ran inside send()');
      });
    });

    it('drops an oversized datagram without throwing, and counts it', async () => {
      await withTransports(2, async ([a, b]) => {
        const atB = collect(b!);
        const before = a!.stats.droppedOversized + b!.stats.droppedOversized;
        assert.doesNotThrow(() => a!.send(b!.localId, new Uint8Array(a!.mtuBytes + 1)));
        a!.send(b!.localId, Uint8Array.of(9));
        await waitFor(() => atB.some((r) => r.bytes.length === 1), timeoutMs, 'the datagram after the oversized one');
        await sleep(quietMs);
        assert.ok(atB.every((r) => r.bytes.length <= b!.mtuBytes), 'no datagram above the MTU was delivered');
        assert.equal(a!.stats.droppedOversized + b!.stats.droppedOversized, before + 1);
      });
    });

    it('keeps the order of a link when it promises to', async (t) => {
      await withTransports(2, async ([a, b]) => {
        if (!a!.orderedLinks) {
          t.skip('the transport does not promise ordered links');
          return;
        }
        const atB = collect(b!);
        const count = 500;
        for (let i = 0; i < count; i++) a!.send(b!.localId, Uint8Array.of(i >> 8, i & 0xff));
        await waitFor(() => atB.length === count, timeoutMs, `${count} datagrams`);
        assert.deepEqual(
          atB.map((r) => (r.bytes[0]! << 8) | r.bytes[1]!),
          Array.from({ length: count }, (_, i) => i),
        );
      });
    });

    it('never throws on a send to an unknown peer or before start', async () => {
      const network = await setup();
      const idle = await network.create();
      try {
        assert.doesNotThrow(() => idle.send('nobody-at-this-address', Uint8Array.of(1)));
        await idle.start();
        assert.doesNotThrow(() => idle.send('nobody-at-this-address', Uint8Array.of(1)));
        assert.ok(idle.stats.droppedUnreachable >= 1 || idle.stats.framesSent >= 1);
      } finally {
        await idle.close();
        await network.teardown?.();
      }
    });

    it('reports linkDown when a peer closes, and stays quiet after its own close', async () => {
      await withTransports(3, async ([a, b, c]) => {
        const downAtA: PeerAddress[] = [];
        const downAtC: PeerAddress[] = [];
        a!.onLinkDown((peer) => downAtA.push(peer));
        c!.onLinkDown((peer) => downAtC.push(peer));
        const atB = collect(b!);
        await b!.close();
        await b!.close(); // idempotent
        await waitFor(() => downAtA.includes(b!.localId) && downAtC.includes(b!.localId), timeoutMs, 'linkDown for the closed peer');
        await waitFor(() => !a!.peers().includes(b!.localId), timeoutMs, 'the closed peer to leave peers()');
        assert.doesNotThrow(() => a!.send(b!.localId, Uint8Array.of(1)));
        assert.doesNotThrow(() => b!.send(a!.localId, Uint8Array.of(1)));
        // The survivors still talk.
        const atC = collect(c!);
        a!.send(c!.localId, Uint8Array.of(2));
        await waitFor(() => atC.length === 1, timeoutMs, 'a datagram between survivors');
        await sleep(quietMs);
        assert.equal(atB.length, 0, 'a closed transport delivered a datagram');
      });
    });

    it('survives a crashed peer', async () => {
      await withTransports(2, async ([a, b], network) => {
        if (network.kill) await network.kill(b!);
        else await b!.close();
        await waitFor(() => !a!.peers().includes(b!.localId), timeoutMs, 'the crashed peer to leave peers()');
        assert.doesNotThrow(() => a!.send(b!.localId, Uint8Array.of(1)));
      });
    });

    it('hostile frames do not crash the receiving peer and are counted', async () => {
      const network = await setup();
      const attacker = await network.create();
      const victimTransport = await network.create();
      await attacker.start();
      const victim = await createPeer({ transport: victimTransport, trace: false });
      try {
        await waitFor(() => attacker.peers().includes(victim.id), timeoutMs, 'the attacker to reach the victim');
        const receivedBefore = victimTransport.stats.framesReceived;
        const header = envelopeHeader('no-such-group', `${attacker.localId}/1`);
        const hostile: Uint8Array[] = [
          new Uint8Array(0),
          Uint8Array.of(0xff),
          Uint8Array.of(1, 200, 1, 2), // group length past the end
          header.subarray(0, header.length - 2), // truncated envelope
          encodeFrame(envelopeHeader('no-such-group', `${attacker.localId}/1`), randomBytes(40)), // unknown group
          encodeFrame(envelopeHeader('no-such-group', `${victim.id}/1`), randomBytes(40)), // spoofed sender
          encodeFrame(envelopeHeader('no-such-group', 'no-slash'), randomBytes(8)), // bad member id
          Uint8Array.of(1, 1, 0xc3, 1, 0x61), // invalid UTF-8
        ];
        for (let i = 0; i < 64; i++) hostile.push(randomBytes(1 + Math.floor(Math.random() * attacker.mtuBytes)));
        for (const frame of hostile) attacker.send(victim.id, frame);
        const oversizedBefore = victimTransport.stats.droppedOversized;
        let oversizedInjected = 0;
        if (network.injectRaw) {
          network.injectRaw(attacker, victimTransport, randomBytes(victimTransport.mtuBytes + 1));
          oversizedInjected = 1;
        }
        const dropped = () => victim.stats.droppedMalformed + victim.stats.droppedSpoofed + victim.stats.droppedUnknownGroup;
        await waitFor(() => victimTransport.stats.framesReceived - receivedBefore >= hostile.length - 1, timeoutMs, 'the hostile frames');
        await sleep(quietMs);
        // Every frame that reached the peer was dropped and counted; none was thrown.
        assert.equal(dropped(), victimTransport.stats.framesReceived - receivedBefore);
        assert.ok(victim.stats.droppedSpoofed >= 1 && victim.stats.droppedUnknownGroup >= 1 && victim.stats.droppedMalformed >= 5);
        if (oversizedInjected) assert.ok(victimTransport.stats.droppedOversized >= oversizedBefore + oversizedInjected);
        // The victim still works.
        const atAttacker = collect(attacker);
        victimTransport.send(attacker.localId, Uint8Array.of(42));
        await waitFor(() => atAttacker.length === 1, timeoutMs, 'a datagram from the victim');
      } finally {
        await victim.close({ leave: false });
        await attacker.close();
        await network.teardown?.();
      }
    });
  });
}
