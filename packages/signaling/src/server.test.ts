import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { signalingClient, type SignalingClient } from './index.js';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions } from './server.js';

const open: { close(): Promise<void> | void }[] = [];
after(async () => {
  for (const thing of open.reverse()) await thing.close();
});

async function server(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const started = await startSignalingServer({ port: 0, ...options });
  open.push(started);
  return started;
}

function client(url: string, room: string, id: string, meta?: { kind: string }): SignalingClient {
  const made = signalingClient(url, room, { id, minReconnectMs: 20, maxReconnectMs: 100, ...(meta ? { meta } : {}) });
  open.push(made);
  return made;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw WebSocket, to send what the client never would. */
async function raw(url: string): Promise<{ socket: WebSocket; received: any[]; closed: Promise<number> }> {
  const socket = new WebSocket(url);
  const received: any[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve) => socket.once('open', resolve));
  open.push({ close: () => socket.terminate() });
  return { socket, received, closed };
}

const ids = (c: SignalingClient) => c.peers().map((p) => p.id).sort();

describe('signaling server', () => {
  it('welcomes a peer with the others of its room, and tells them of arrivals and departures', async () => {
    const s = await server();
    const a = client(s.url, 'g', 'a', { kind: 'udp' });
    await a.ready();
    const joins: string[] = [];
    const leaves: string[] = [];
    a.on('join', (peer) => joins.push(peer.id));
    a.on('leave', (id) => leaves.push(id));
    const b = client(s.url, 'g', 'b');
    await b.ready();
    assert.deepEqual(b.peers(), [{ id: 'a', meta: { kind: 'udp' } }]);
    await waitFor(() => joins.includes('b'), 'a to see b');
    assert.deepEqual(s.rooms(), new Map([['g', ['a', 'b']]]));
    await b.close();
    await waitFor(() => leaves.includes('b'), 'a to see b leave');
    assert.deepEqual(ids(a), []);
  });

  it('keeps rooms apart: no peer lists, no relays across rooms', async () => {
    const s = await server();
    const a = client(s.url, 'room-1', 'a');
    const b = client(s.url, 'room-2', 'b');
    const c = client(s.url, 'room-1', 'c');
    await Promise.all([a.ready(), b.ready(), c.ready()]);
    await waitFor(() => ids(a).includes('c'), 'a to see c');
    assert.deepEqual(ids(a), ['c']);
    assert.deepEqual(ids(b), []);
    const errors: string[] = [];
    a.on('error', (error) => errors.push(error.code));
    const atB: unknown[] = [];
    b.on('signal', (_from, data) => atB.push(data));
    assert.equal(a.signal('b', 'offer'), true);
    await waitFor(() => errors.length === 1, 'the refusal');
    assert.deepEqual(errors, ['unknown-peer']);
    assert.equal(s.stats.droppedUnknownPeer, 1);
    assert.deepEqual(atB, []);
  });

  it('relays a message to the named peer only, with the sender set by the server', async () => {
    const s = await server();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => client(s.url, 'g', id));
    await Promise.all([a!.ready(), b!.ready(), c!.ready()]);
    const atB: [string, unknown][] = [];
    const atC: unknown[] = [];
    b!.on('signal', (from, data) => atB.push([from, data]));
    c!.on('signal', (_from, data) => atC.push(data));
    a!.signal('b', { type: 'offer', sdp: 'v=0…' });
    await waitFor(() => atB.length === 1, 'the relayed offer');
    assert.deepEqual(atB, [['a', { type: 'offer', sdp: 'v=0…' }]]);
    // A raw client cannot claim to be someone else: `from` is the id it joined with.
    const mallory = await raw(s.url);
    mallory.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'mallory' }));
    mallory.socket.send(JSON.stringify({ type: 'signal', to: 'b', data: 'x', from: 'a' }));
    await waitFor(() => atB.length === 2, 'the second relay');
    assert.deepEqual(atB[1], ['mallory', 'x']);
    assert.deepEqual(atC, []);
    assert.equal(s.stats.relayed, 2);
  });

  it('drops and counts oversized messages, and closes a client far over the limit', async () => {
    const s = await server({ maxMessageBytes: 1024 });
    const peer = await raw(s.url);
    peer.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'p' }));
    peer.socket.send(JSON.stringify({ type: 'signal', to: 'q', data: 'x'.repeat(2000) }));
    await waitFor(() => peer.received.some((m) => m.code === 'too-large'), 'the refusal');
    assert.equal(s.stats.droppedOversized, 1);
    assert.equal(s.connections, 1, 'a message within 4× the limit does not cost the connection');
    const careful = signalingClient(s.url, 'g', { maxMessageBytes: 1024 });
    open.push(careful);
    assert.throws(() => careful.signal('p', 'x'.repeat(2000)), { name: 'SynodError', code: 'MESSAGE_TOO_LARGE' });
    peer.socket.send('y'.repeat(5000));
    assert.equal(await peer.closed, 1009);
    await waitFor(() => s.stats.closedAbusive === 1, 'the abusive close to be counted');
    assert.equal(s.stats.droppedOversized, 2);
  });

  it('rate-limits each client: over-rate messages are dropped and counted, persistent abuse closes it', async () => {
    const s = await server({ messagesPerSecond: 10, burst: 5, maxStrikes: 10 });
    const polite = client(s.url, 'g', 'polite');
    await polite.ready();
    const flooder = await raw(s.url);
    flooder.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'flooder' }));
    for (let i = 0; i < 8; i++) flooder.socket.send(JSON.stringify({ type: 'signal', to: 'polite', data: i }));
    await waitFor(() => s.stats.droppedRateLimited >= 4, 'over-rate drops');
    assert.equal(s.stats.relayed, 4, 'the burst (5 tokens, one spent on join) went through');
    assert.equal(s.connections, 2);
    for (let i = 0; i < 20; i++) flooder.socket.send(JSON.stringify({ type: 'signal', to: 'polite', data: i }));
    assert.equal(await flooder.closed, 1008);
    assert.equal(s.stats.closedAbusive, 1);
    // Others are unaffected.
    const other = client(s.url, 'g', 'other');
    await other.ready();
    assert.equal(other.signal('polite', 'hi'), true);
  });

  it('drops and counts malformed and out-of-place messages without closing at once', async () => {
    const s = await server();
    const peer = await raw(s.url);
    peer.socket.send('not json');
    peer.socket.send(JSON.stringify({ type: 'signal', to: 'x', data: 1 })); // before join
    peer.socket.send(JSON.stringify({ type: 'join', room: '', id: 'p' })); // empty room
    peer.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'p\u0000' })); // control character
    peer.socket.send(Buffer.from([1, 2, 3])); // binary
    peer.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'p' }));
    peer.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'p2' })); // second join
    await waitFor(() => peer.received.some((m) => m.type === 'welcome') && s.stats.droppedMalformed === 6, 'six refusals and a welcome');
    assert.deepEqual(
      peer.received.filter((m) => m.type === 'error').map((m) => m.code),
      ['bad-message', 'not-joined', 'bad-message', 'bad-message', 'bad-message', 'already-joined'],
    );
    assert.deepEqual(s.rooms(), new Map([['g', ['p']]]));
  });

  it('closes a connection that never joins, and refuses a full room', async () => {
    const s = await server({ joinTimeoutMs: 100, maxPeersPerRoom: 1 });
    const idle = await raw(s.url);
    assert.equal(await idle.closed, 1008);
    const first = client(s.url, 'g', 'first');
    await first.ready();
    const second = await raw(s.url);
    second.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'second' }));
    assert.equal(await second.closed, 1013);
    assert.deepEqual(second.received.map((m) => m.code), ['room-full']);
    assert.equal(s.stats.refused, 1);
  });

  it('gives an id to its newest connection', async () => {
    const s = await server();
    const watcher = client(s.url, 'g', 'watcher');
    await watcher.ready();
    const old = await raw(s.url);
    old.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'p', meta: 1 }));
    await waitFor(() => watcher.peers().length === 1, 'the first connection');
    const fresh = await raw(s.url);
    fresh.socket.send(JSON.stringify({ type: 'join', room: 'g', id: 'p', meta: 2 }));
    assert.equal(await old.closed, 4000);
    await waitFor(() => watcher.peers()[0]?.meta === 2, 'the new metadata');
    assert.deepEqual(s.rooms(), new Map([['g', ['watcher', 'p']]]));
  });
});

describe('signaling client', () => {
  it('reconnects after a server restart and rejoins; an unchanged room emits no join or leave', async () => {
    const first = await startSignalingServer({ port: 0 });
    const port = first.port;
    const a = client(first.url, 'g', 'a');
    const b = client(first.url, 'g', 'b');
    await Promise.all([a.ready(), b.ready()]);
    await waitFor(() => ids(a).includes('b'), 'a to see b');
    const events: string[] = [];
    a.on('join', (peer) => events.push(`join ${peer.id}`));
    a.on('leave', (id) => events.push(`leave ${id}`));
    a.on('close', () => events.push('close'));
    a.on('open', () => events.push('open'));
    await first.close();
    await waitFor(() => !a.connected && !b.connected, 'both to notice');
    assert.deepEqual(ids(a), ['b'], 'the last known list is kept while disconnected');
    assert.equal(a.signal('b', 'x'), false);
    const second = await server({ port });
    await waitFor(() => a.connected && b.connected && second.rooms().get('g')?.length === 2, 'both to rejoin');
    // b may rejoin after a: a then sees it leave the (new, empty) room list and join again.
    const settled = events.filter((e) => e !== 'leave b' && e !== 'join b');
    assert.deepEqual(settled, ['close', 'open']);
    assert.deepEqual(ids(a), ['b']);
    const atB: unknown[] = [];
    b.on('signal', (_from, data) => atB.push(data));
    a.signal('b', 'after restart');
    await waitFor(() => atB.length === 1, 'a relay through the new server');
  });

  it('rejects ready() when the server cannot be reached, and closes cleanly', async () => {
    const s = await startSignalingServer({ port: 0 });
    const url = s.url;
    await s.close();
    const lonely = signalingClient(url, 'g', { minReconnectMs: 10 });
    await assert.rejects(lonely.ready(200), { name: 'SynodError', code: 'TIMEOUT' });
    await lonely.close();
    const once = signalingClient(url, 'g', { reconnect: false });
    await assert.rejects(once.ready(2000), { name: 'SynodError', code: 'TRANSPORT' });
    await once.close();
    assert.throws(() => signalingClient('http://x', 'g'), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => signalingClient(url, ''), { code: 'INVALID_ARGUMENT' });
  });

  it('ignores what a hostile server sends', async () => {
    const { WebSocketServer } = await import('ws');
    const evil = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => evil.once('listening', resolve));
    open.push({ close: () => new Promise<void>((resolve) => evil.close(() => resolve())) });
    evil.on('connection', (socket) => {
      for (const junk of ['nope', '{"type":"welcome"}', '{"type":"join","peer":{"id":""}}', '[1]', '{"type":"signal","from":5}'])
        socket.send(junk);
      socket.send(JSON.stringify({ type: 'welcome', room: 'g', id: 'me', peers: [{ id: 'x' }] }));
    });
    const port = (evil.address() as { port: number }).port;
    const c = client(`ws://127.0.0.1:${port}`, 'g', 'me');
    await c.ready();
    assert.equal(c.stats.droppedMalformed, 5);
    assert.deepEqual(ids(c), ['x']);
    for (const socket of evil.clients) socket.terminate();
  });
});
