import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createPeer, type Group, type Peer } from '@synod/peer';
import { startSignalingServer, type SignalingServer } from '@synod/signaling/server';
import { udp } from '../src/index.js';

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

/** Joins one after the other: the core founds one group when the founder is up first. */
async function joinAll(peers: Peer[], name: string): Promise<Group[]> {
  const groups: Group[] = [];
  for (const member of peers) groups.push(await member.join(name, timing));
  await waitFor(() => groups.every((group) => group.view?.members.length === peers.length), `a view of ${peers.length}`);
  return groups;
}

function recorder(groups: Group[]): string[][] {
  const seen = groups.map(() => [] as string[]);
  groups.forEach((group, i) => group.handle<string>('M', (message) => void seen[i]!.push(message.data)));
  return seen;
}

describe('groups over UDP', () => {
  it('three peers from a static list form a group and agree on the abcast order (IPv4)', async () => {
    const first = await peer({});
    const others = [await peer({ peers: [first.id] }), await peer({ peers: [first.id] })];
    const groups = await joinAll([first, ...others], 'static');
    const seen = recorder(groups);
    await Promise.all(groups.flatMap((group, i) => Array.from({ length: 50 }, (_, n) => group.abcast('M', `${i}.${n}`))));
    await waitFor(() => seen.every((list) => list.length === 150), '150 deliveries at each member');
    assert.deepEqual(seen[1], seen[0]);
    assert.deepEqual(seen[2], seen[0]);
  });

  it('a 1 MB message crosses IPv6 loopback in 8 KiB datagrams', async () => {
    const a = await peer({ host: '::1' });
    const b = await peer({ host: '::1', peers: [a.id] });
    const [ga, gb] = await joinAll([a, b], 'large');
    const big = new Uint8Array(1024 * 1024).map((_, i) => i * 7);
    const got = new Promise<Uint8Array>((resolve) => gb!.handle<Uint8Array>('BIG', (message) => resolve(message.data)));
    await ga!.fbcast('BIG', big);
    assert.deepEqual(await got, big);
    assert.ok(b.transport.stats.framesReceived >= 128);
  });

  it('a signaling server restart does not break a group formed through it', async () => {
    let server: SignalingServer = await startSignalingServer({ port: 0 });
    const port = server.port;
    closers.push(() => server.close());
    const signaling = { url: server.url, room: 'restart' };
    const peers = [await peer({ signaling }), await peer({ signaling }), await peer({ signaling })];
    const groups = await joinAll(peers, 'g');
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
