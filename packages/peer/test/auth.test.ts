/**
 * Access control (issue 3): a keyed group admits only peers holding its key; everything else is
 * dropped and counted before the core. The hostile party here has the signaling server's position:
 * it is on the network, announces itself, sees and relays frames (a WebRTC signaling server can put
 * itself in the middle of every link it signals), forges source addresses, and knows the group's
 * name, but not its key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Member, SynodError, type MemberConfig, type View } from '@synod/core';
import { createHub, memory, type Hub } from '@synod/transport-memory';
import { FrameAuthenticator, TAG_BYTES } from '../src/auth.js';
import { HOLD_FOR_MS } from '../src/freshness.js';
import { ENVELOPE_VERSION, ENVELOPE_VERSION_AUTHENTICATED, decodeFrame, encodeFrame, envelopeHeader } from '../src/envelope.js';
import { realClock } from '../src/clock.js';
import { createPeer, type Group, type JoinOptions, type Peer, type Transport } from '../src/index.js';
import { createPeerWith } from '../src/peer.js';
import { agreeOnView, sleep, timing, waitFor } from './cluster.js';

const KEY = 'k7Q2 a group secret of enough entropy 9f3a';
const ORDERS = ['fbcast', 'cbcast', 'abcast', 'safe'] as const;

interface Captured {
  readonly from: string;
  readonly to: string;
  readonly bytes: Uint8Array;
}

interface Keyed {
  readonly hub: Hub;
  readonly peers: Peer[];
  readonly groups: Group[];
  /** Every frame any member received, as a man in the middle would see it. */
  readonly captured: Captured[];
  /** Messages each member delivered, as `kind:data`. */
  readonly delivered: string[][];
  close(): Promise<void>;
}

/** A transport whose incoming frames are recorded as well as delivered. */
function recorded(transport: Transport, captured: Captured[]): Transport {
  transport.onMessage((from, bytes) => captured.push({ from, to: transport.localId, bytes: bytes.slice() }));
  return transport;
}

/** `count` members p0… of a group keyed with KEY, recording frames and deliveries of kind M. */
async function keyedGroup(count: number, extra: (index: number) => JoinOptions = () => ({})): Promise<Keyed> {
  const hub = createHub();
  const captured: Captured[] = [];
  const peers: Peer[] = [];
  const groups: Group[] = [];
  const delivered: string[][] = [];
  const close = async () => void (await Promise.all(peers.map((peer) => peer.close({ timeoutMs: 300 }))));
  try {
    for (let i = 0; i < count; i++) {
      const peer = await createPeer({ transport: recorded(memory({ hub, id: `p${i}` }), captured), trace: false });
      peers.push(peer);
      const group = await peer.join('g', { ...timing, key: KEY, ...extra(i) });
      const seen: string[] = [];
      group.handle<string>('M', (message) => void seen.push(`M:${message.data}`));
      group.on('message', (message) => void seen.push(`${message.kind}:${String(message.data)}`));
      groups.push(group);
      delivered.push(seen);
    }
    await agreeOnView(groups, count);
  } catch (error) {
    await close();
    throw error;
  }
  return { hub, peers, groups, captured, delivered, close };
}

function sameView(groups: readonly Group[], view: View): void {
  for (const group of groups) {
    assert.equal(group.view?.viewId, view.viewId);
    assert.deepEqual(group.view?.members, view.members);
  }
}

async function notJoined(join: Promise<Group>, waitMs: number): Promise<Group | undefined> {
  join.catch(() => undefined); // rejected with CLOSED when the test closes the peer
  return Promise.race([join, sleep(waitMs).then(() => undefined)]);
}

describe('keyed groups', () => {
  for (const flavour of ORDERS) {
    it(`members holding the key form the group and ${flavour} reaches everyone, with nothing dropped`, async () => {
      const k = await keyedGroup(3);
      try {
        await k.groups[1]![flavour]('M', 'one');
        await k.groups[2]![flavour]('M', Uint8Array.of(1, 2, 3));
        await waitFor(() => k.delivered.every((seen) => seen.length === 2), 'two deliveries at every member');
        // Two senders: FIFO and causal order leave their messages unordered relative to each other.
        for (const seen of k.delivered) assert.deepEqual([...seen].sort(), ['M:1,2,3', 'M:one']);
        for (const group of k.groups) assert.equal(group.stats.droppedUnauthenticated, 0);
        for (const peer of k.peers) assert.equal(peer.stats.droppedUnauthenticated, 0);
        // Every frame on the wire is version 2 and carries a valid tag.
        const authenticator = FrameAuthenticator.forGroup(KEY, 'g');
        assert.ok(k.captured.length > 0);
        for (const { bytes } of k.captured) {
          assert.equal(decodeFrame(bytes)?.authenticated, true);
          assert.equal(authenticator.verify(bytes), true);
        }
      } finally {
        await k.close();
      }
    });
  }

  it('a large message crosses a keyed group in fragments, none oversized', async () => {
    const k = await keyedGroup(2);
    try {
      const big = new Uint8Array(300_000).map((_, i) => i * 13);
      const got = new Promise<Uint8Array>((resolve) => k.groups[1]!.handle<Uint8Array>('BIG', (message) => resolve(message.data)));
      await k.groups[0]!.fbcast('BIG', big);
      assert.deepEqual(await got, big);
      assert.equal(k.hub.stats.delivered > 18, true);
      for (const peer of k.peers) assert.equal(peer.transport.stats.droppedOversized, 0);
    } finally {
      await k.close();
    }
  });

  it('the core is told the MTU left after the envelope and the tag, and never sees the key', async () => {
    const hub = createHub();
    const configs: MemberConfig[] = [];
    const memberFactory = (config: MemberConfig) => (configs.push(config), new Member(config));
    const peer = await createPeerWith({ transport: memory({ hub, id: 'solo' }), trace: false }, { memberFactory, clock: realClock });
    try {
      await peer.join('g', { ...timing, key: KEY });
      await peer.join('open', timing);
      assert.equal(configs[0]!.mtuBytes, hub.mtuBytes - envelopeHeader('g', 'solo/1', ENVELOPE_VERSION_AUTHENTICATED).length - TAG_BYTES);
      assert.equal(configs[1]!.mtuBytes, hub.mtuBytes - envelopeHeader('open', 'solo/2').length);
      for (const config of configs) assert.equal('key' in config, false);
    } finally {
      await peer.close();
    }
  });

  it('a peer without the key, or with another key, never enters the view; what it sends is dropped and counted', async () => {
    const k = await keyedGroup(3);
    const intruders = await Promise.all(['open', 'wrong'].map((id) => createPeer({ transport: memory({ hub: k.hub, id }), trace: false })));
    try {
      const view = k.groups[0]!.view!;
      const attempts = [
        intruders[0]!.join('g', timing),
        intruders[1]!.join('g', { ...timing, key: new TextEncoder().encode(KEY.toUpperCase()) }),
      ];
      for (const attempt of attempts) {
        const joined = await notJoined(attempt, timing.discoveryMs * 8);
        // Alone it may never found (its contacts are silent to it); if it ever does, it is alone.
        if (joined) assert.ok(joined.view!.members.every((member) => !member.startsWith('p')));
      }
      sameView(k.groups, view);
      for (const [i, group] of k.groups.entries()) {
        assert.ok(group.stats.droppedUnauthenticated > 0, `p${i} counted the intruders' frames`);
        assert.equal(k.peers[i]!.stats.droppedUnauthenticated, group.stats.droppedUnauthenticated);
      }
      // The group carries on, and only its members' messages are delivered.
      await k.groups[0]!.abcast('M', 'after');
      await waitFor(() => k.delivered.every((seen) => seen.includes('M:after')), 'a delivery after the attempts');
      for (const seen of k.delivered) assert.deepEqual(seen, ['M:after']);
      sameView(k.groups, view);
    } finally {
      await Promise.all(intruders.map((peer) => peer.close({ leave: false })));
      await k.close();
    }
  });

  it('keyed and open peers under one group name form two groups that never mix', async () => {
    const hub = createHub();
    const make = (id: string) => createPeer({ transport: memory({ hub, id }), trace: false });
    const k0 = await make('k0');
    const keyed = [await k0.join('g', { ...timing, key: KEY })];
    const k1 = await make('k1');
    keyed.push(await k1.join('g', { ...timing, key: KEY }));
    // An open founder: its contacts would be the keyed peers, silent to it, so it is told it is first.
    const u0 = await make('u0');
    const open = [await u0.join('g', { ...timing, contacts: [] })];
    // Joiners with every peer as contacts each find their own kind.
    const u1 = await make('u1');
    open.push(await u1.join('g', timing));
    const k2 = await make('k2');
    keyed.push(await k2.join('g', { ...timing, key: KEY }));
    const peers = [k0, k1, u0, u1, k2];
    try {
      await agreeOnView(keyed, 3);
      await agreeOnView(open, 2);
      assert.deepEqual(keyed[0]!.view!.members, ['k0/1', 'k1/1', 'k2/1']);
      assert.deepEqual(open[0]!.view!.members, ['u0/1', 'u1/1']);
      const seen = new Map<Group, string[]>();
      for (const group of [...keyed, ...open]) {
        const list: string[] = [];
        seen.set(group, list);
        group.handle<string>('M', (message) => void list.push(message.data));
      }
      await Promise.all([keyed[0]!.abcast('M', 'keyed'), open[1]!.abcast('M', 'open')]);
      await waitFor(() => [...seen.values()].every((list) => list.length >= 1), 'a delivery in each group');
      await sleep(50);
      for (const group of keyed) assert.deepEqual(seen.get(group), ['keyed']);
      for (const group of open) assert.deepEqual(seen.get(group), ['open']);
      // u1 asked the keyed peers, k2 asked the open ones: each side dropped the other's discovery.
      assert.ok(keyed.slice(0, 2).every((group) => group.stats.droppedUnauthenticated > 0));
      assert.ok(open.some((group) => group.stats.droppedUnauthenticated > 0));
    } finally {
      await Promise.all(peers.map((peer) => peer.close({ timeoutMs: 300 })));
    }
  });

  it('a party in the signaling server\'s position can neither join nor inject: forged frames are dropped and counted, never delivered', async () => {
    const k = await keyedGroup(3);
    // It announces itself (it is on the network, among every member's contacts) and listens.
    const mallory = memory({ hub: k.hub, id: 'mallory' });
    await mallory.start();
    try {
      for (let n = 0; n < 5; n++) await k.groups[n % 3]!.abcast('M', `real ${n}`);
      await waitFor(() => k.delivered.every((seen) => seen.length === 5), 'five real deliveries');
      await k.hub.settle();
      const view = k.groups[0]!.view!;
      const before = k.delivered.map((seen) => seen.length);
      const droppedBefore = k.groups.map((group) => group.stats.droppedUnauthenticated);
      const wrongKey = FrameAuthenticator.forGroup('a guess', 'g');
      const wrongGroup = FrameAuthenticator.forGroup(KEY, 'not-g'); // the right secret, derived for another group

      // Frames it builds from what it captured, each claiming the source address of the member it names.
      const forged: { from: string; bytes: Uint8Array }[] = [];
      const samples = k.captured.filter((frame) => frame.to === 'p0').slice(-40);
      assert.ok(samples.length >= 10);
      for (const { from, bytes } of samples) {
        const envelope = decodeFrame(bytes)!;
        const payloadAt = bytes.length - TAG_BYTES - envelope.payload.length;
        const header = bytes.slice(0, payloadAt);
        const body = envelope.payload;
        // The body changed: one bit flipped, somewhere in the core's bytes.
        const flipped = bytes.slice();
        flipped[payloadAt + (body.length >> 1)]! ^= 0x10;
        forged.push({ from, bytes: flipped });
        // The tag changed.
        const badTag = bytes.slice();
        badTag[bytes.length - 1]! ^= 0x01;
        forged.push({ from, bytes: badTag });
        // Re-signed with a key of its own, and with the right secret derived for another group.
        forged.push({ from, bytes: encodeFrame(header, body, wrongKey) });
        forged.push({ from, bytes: encodeFrame(header, body, wrongGroup) });
        // Downgraded to a plain frame.
        const plainHeader = header.slice();
        plainHeader[0] = ENVELOPE_VERSION;
        forged.push({ from, bytes: encodeFrame(plainHeader, body) });
        // The captured tag moved onto another body of the same length.
        const swapped = bytes.slice();
        swapped.set(samples[0]!.bytes.subarray(payloadAt, payloadAt + Math.min(body.length, samples[0]!.bytes.length - payloadAt - TAG_BYTES)), payloadAt);
        if (!swapped.every((byte, i) => byte === bytes[i])) forged.push({ from, bytes: swapped });
      }
      // Frames in its own name: captured core bytes under its own member id, plain and with a guessed key.
      for (const { bytes } of samples.slice(0, 10)) {
        const body = decodeFrame(bytes)!.payload;
        forged.push({ from: 'mallory', bytes: encodeFrame(envelopeHeader('g', 'mallory/1'), body) });
        forged.push({ from: 'mallory', bytes: encodeFrame(envelopeHeader('g', 'mallory/1', ENVELOPE_VERSION_AUTHENTICATED), body, wrongKey) });
      }
      for (const { from, bytes } of forged) for (const to of ['p0', 'p1', 'p2']) k.hub.inject(from, to, bytes);
      await k.hub.settle();
      await sleep(timing.heartbeatMs * 3);

      for (const [i, group] of k.groups.entries()) {
        assert.equal(group.stats.droppedUnauthenticated - droppedBefore[i]!, forged.length, `p${i} counted every forged frame`);
        assert.equal(k.delivered[i]!.length, before[i], `p${i} delivered nothing forged`);
      }
      sameView(k.groups, view);
      assert.ok(k.groups.every((group) => !group.view!.members.some((member) => member.startsWith('mallory'))));
      // The group still works.
      await k.groups[2]!.abcast('M', 'still here');
      await waitFor(() => k.delivered.every((seen) => seen.at(-1) === 'M:still here'), 'a delivery after the attack');
      assert.deepEqual(k.delivered[1], k.delivered[0]);
      assert.deepEqual(k.delivered[2], k.delivered[0]);
    } finally {
      await mallory.close();
      await k.close();
    }
  });

  it('replayed frames, though authentic, deliver nothing twice and change no view', async () => {
    const k = await keyedGroup(3);
    try {
      for (let n = 0; n < 6; n++) await k.groups[n % 3]!.abcast('M', `m${n}`);
      await k.groups[0]!.safe('M', 'safe');
      await k.groups[1]!.fbcast('M', 'fifo');
      await waitFor(() => k.delivered.every((seen) => seen.length === 8), 'eight deliveries at every member');
      await k.hub.settle();
      const view = k.groups[0]!.view!;
      const snapshot = k.delivered.map((seen) => [...seen]);
      // Every frame recorded since the group formed (discovery, joins, views, data), replayed to where it went.
      const recorded = [...k.captured];
      for (const { from, to, bytes } of recorded) k.hub.inject(from, to, bytes);
      await k.hub.settle();
      await sleep(timing.heartbeatMs * 5);
      assert.deepEqual(k.delivered, snapshot);
      sameView(k.groups, view);
      for (const group of k.groups) assert.equal(group.stats.droppedUnauthenticated, 0);
    } finally {
      await k.close();
    }
  });

  it('replaying the recorded frames of departed members neither readmits them nor blocks the group', async () => {
    // Without the liveness gate, their recorded join requests make the coordinator admit the three
    // as ghosts: a view of five with two live members, a minority for good.
    for (const departure of ['leave', 'crash'] as const) {
      const k = await keyedGroup(5);
      try {
        for (let n = 4; n >= 2; n--) {
          if (departure === 'leave') await k.groups[n]!.leave();
          else k.hub.kill(`p${n}`);
          await agreeOnView(k.groups.slice(0, n), n);
        }
        const survivors = k.groups.slice(0, 2);
        const view = survivors[0]!.view!;
        const minority: number[] = [];
        survivors.forEach((group, i) => group.on('minority', () => void minority.push(i)));
        for (const { from, to, bytes } of [...k.captured]) if (to === 'p0' || to === 'p1') k.hub.inject(from, to, bytes);
        await k.hub.settle();
        await sleep(HOLD_FOR_MS + timing.heartbeatMs * 5);
        sameView(survivors, view);
        assert.deepEqual(minority, []);
        assert.ok(survivors.every((group) => group.stats.droppedUnverified > 0), 'the ghosts\' frames were held, then dropped');
        await survivors[1]!.abcast('M', `after ${departure}`);
        await waitFor(() => k.delivered.slice(0, 2).every((seen) => seen.at(-1) === `M:after ${departure}`), 'a delivery after the replay');
      } finally {
        await k.close();
      }
    }
  });

  it('a keyed member excluded by a partition rejoins with the key', async () => {
    const k = await keyedGroup(3);
    try {
      const rejoined = new Promise((resolve) => k.groups[2]!.on('rejoined', resolve));
      k.hub.partition([['p0', 'p1'], ['p2']]);
      await agreeOnView(k.groups.slice(0, 2), 2);
      k.hub.heal();
      await rejoined;
      await agreeOnView(k.groups, 3);
      assert.equal(k.groups[2]!.memberId, 'p2/2');
      await k.groups[2]!.abcast('M', 'back');
      await waitFor(() => k.delivered.every((seen) => seen.includes('M:back')), 'a delivery from the rejoined member');
    } finally {
      await k.close();
    }
  });

  it('misuse: an empty key, or one that is neither bytes nor a string, throws INVALID_ARGUMENT', async () => {
    const peer = await createPeer({ transport: memory({ hub: createHub(), id: 'solo' }), trace: false });
    try {
      for (const key of ['', new Uint8Array(0), 7, null, { secret: 'x' }]) {
        await assert.rejects(
          peer.join('g', { ...timing, key: key as never }),
          (error: unknown) => error instanceof SynodError && error.code === 'INVALID_ARGUMENT',
        );
        assert.equal(peer.groups.has('g'), false);
      }
      const group = await peer.join('g', { ...timing, key: Uint8Array.of(1, 2, 3) });
      assert.deepEqual(group.view?.members, ['solo/1']);
    } finally {
      await peer.close();
    }
  });
});
