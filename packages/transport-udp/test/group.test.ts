import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, it } from 'node:test';
import { createPeer, type Group, type Peer } from '@synod/peer';
import { startSignalingServer, type SignalingServer } from '@synod/signaling/server';
import { formatUdpAddress, udp } from '../src/index.js';

const timing = { heartbeatMs: 100, suspectAfterMs: 1000, discoveryMs: 150 };
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

async function peer(init: Parameters<typeof udp>[0]): Promise<Peer> {
  const made = await createPeer({ transport: udp(init), trace: false });
  closers.push(() => made.close({ leave: false }));
  return made;
}

/**
 * Starts and joins peers one after the other. (The core does not found a group while a contact —
 * a peer the transport reaches — stays silent about it, so a peer is started only once the
 * previous one is in the group.)
 */
async function grow(name: string, inits: ((previous: Peer[]) => Parameters<typeof udp>[0])[]): Promise<{ peers: Peer[]; groups: Group[] }> {
  const peers: Peer[] = [];
  const groups: Group[] = [];
  for (const init of inits) {
    const made = await peer(init(peers));
    peers.push(made);
    groups.push(await made.join(name, timing));
  }
  await waitFor(() => groups.every((group) => group.view?.members.length === inits.length), `a view of ${inits.length}`);
  return { peers, groups };
}

function recorder(groups: Group[]): string[][] {
  const seen = groups.map(() => [] as string[]);
  groups.forEach((group, i) => group.handle<string>('M', (message) => void seen[i]!.push(message.data)));
  return seen;
}

describe('groups over UDP', () => {
  it('three peers from a static list form a group and agree on the abcast order (IPv4)', async () => {
    const { groups } = await grow('static', [() => ({}), (before) => ({ peers: [before[0]!.id] }), (before) => ({ peers: [before[0]!.id] })]);
    const seen = recorder(groups);
    await Promise.all(groups.flatMap((group, i) => Array.from({ length: 50 }, (_, n) => group.abcast('M', `${i}.${n}`))));
    await waitFor(() => seen.every((list) => list.length === 150), '150 deliveries at each member');
    assert.deepEqual(seen[1], seen[0]);
    assert.deepEqual(seen[2], seen[0]);
  });

  it('three peers started at once from one static list (their own address included) form one group', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      ports.push(socket.address().port);
      await new Promise<void>((resolve) => socket.close(resolve));
    }
    const list = ports.map((port) => formatUdpAddress('127.0.0.1', port));
    const peers = await Promise.all(ports.map((port) => peer({ port, peers: list })));
    const groups = await Promise.all(peers.map((member) => member.join('together', timing)));
    await waitFor(() => groups.every((group) => group.view?.members.length === 3), 'one view of three');
    assert.equal(new Set(groups.map((group) => JSON.stringify(group.view))).size, 1);
  });

  it('a 1 MB message crosses IPv6 loopback in 8 KiB datagrams', async () => {
    const {
      peers: [, b],
      groups: [ga, gb],
    } = await grow('large', [() => ({ host: '::1' }), (before) => ({ host: '::1', peers: [before[0]!.id] })]);
    const big = new Uint8Array(1024 * 1024).map((_, i) => i * 7);
    const got = new Promise<Uint8Array>((resolve) => gb!.handle<Uint8Array>('BIG', (message) => resolve(message.data)));
    await ga!.fbcast('BIG', big);
    assert.deepEqual(await got, big);
    assert.ok(b!.transport.stats.framesReceived >= 128);
  });

  it('a signaling server restart does not break a group formed through it', async () => {
    let server: SignalingServer = await startSignalingServer({ port: 0 });
    const port = server.port;
    closers.push(() => server.close());
    const signaling = { url: server.url, room: 'restart' };
    const { groups } = await grow('g', [() => ({ signaling }), () => ({ signaling }), () => ({ signaling })]);
    const seen = recorder(groups);
    await server.close();
    // The group does not need the server: it keeps delivering while the server is down…
    for (let n = 0; n < 20; n++) await groups[n % 3]!.abcast('M', `down.${n}`);
    await waitFor(() => seen.every((list) => list.length === 20), '20 deliveries with the server down');
    assert.ok(groups.every((group) => group.view?.members.length === 3 && group.view.viewId === groups[0]!.view!.viewId));
    // …and after the restart (no state), the members announce themselves again and a newcomer finds them.
    server = await startSignalingServer({ port });
    await waitFor(() => server.rooms().get('restart')?.length === 3, 'the members to announce themselves again');
    const late = await peer({ signaling });
    const all = [...groups, await late.join('g', timing)];
    await waitFor(() => all.every((group) => group.view?.members.length === 4), 'a view of 4');
    for (let n = 0; n < 10; n++) await all[n % 4]!.abcast('M', `up.${n}`);
    await waitFor(() => seen.every((list) => list.length === 30), '30 deliveries');
    assert.deepEqual(seen[1], seen[0]);
    assert.deepEqual(seen[2], seen[0]);
  });
});
