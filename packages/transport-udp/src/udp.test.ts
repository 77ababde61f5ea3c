import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { transportCompliance, type ComplianceNetwork } from '@synod/peer/compliance';
import { startSignalingServer } from '@synod/signaling/server';
import { formatUdpAddress, parseUdpAddress, udp, type UdpInit, type UdpTransport } from './index.js';
import { controlDatagram, HEADER_BYTES, Kind, writeHeader } from './wire.js';

// Fast liveness so a crashed peer leaves peers() well within the suite's 2 s.
const timing = { keepaliveMs: 50, probeAfterMs: 200 };

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A free port on `host`, for static lists that must name ports before the transports bind. */
async function freePort(host: string): Promise<number> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** Raw bytes at `to`'s port from a throwaway socket, under a valid DATA header. */
function injectRaw(_from: unknown, to: { localId: string }, bytes: Uint8Array): void {
  const target = parseUdpAddress(to.localId)!;
  const datagram = new Uint8Array(HEADER_BYTES + bytes.length);
  writeHeader(datagram, Kind.Data, 0x12345678, 0);
  datagram.set(bytes, HEADER_BYTES);
  const socket = dgram.createSocket(target.family === 4 ? 'udp4' : 'udp6');
  socket.send(datagram, target.port, target.host, () => socket.close());
}

const kill = (transport: unknown) => (transport as UdpTransport).abort();

transportCompliance('udp over IPv4 loopback, static peer list', () => {
  const listed: string[] = [];
  return {
    async create() {
      const port = await freePort('127.0.0.1');
      const transport = udp({ host: '127.0.0.1', port, peers: [...listed], ...timing });
      listed.push(formatUdpAddress('127.0.0.1', port));
      return transport;
    },
    kill,
    injectRaw,
  } satisfies ComplianceNetwork;
});

transportCompliance('udp over IPv6 loopback, signaling server', async () => {
  const server = await startSignalingServer({ host: '::1', port: 0 });
  return {
    create: () => udp({ host: '::1', signaling: { url: server.url, room: 'compliance' }, ...timing }),
    kill,
    injectRaw,
    teardown: () => server.close(),
  } satisfies ComplianceNetwork;
});

describe('udp transport', () => {
  const opened: UdpTransport[] = [];
  after(async () => {
    for (const transport of opened) await transport.close();
  });
  async function started(init: UdpInit = {}): Promise<UdpTransport> {
    const transport = udp({ ...timing, ...init });
    opened.push(transport);
    await transport.start();
    return transport;
  }
  function collect(transport: UdpTransport): Uint8Array[] {
    const received: Uint8Array[] = [];
    transport.onMessage((_from, bytes) => received.push(bytes));
    return received;
  }

  it('refuses bad options with INVALID_ARGUMENT', () => {
    assert.throws(() => udp({ host: 'localhost' }), { name: 'SynodError', code: 'INVALID_ARGUMENT' });
    assert.throws(() => udp({ port: 70000 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => udp({ mtuBytes: 65_500 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => udp({ peers: ['udp:[::1]:4000'] }), { code: 'INVALID_ARGUMENT' }, 'an IPv6 peer for an IPv4 socket');
    assert.throws(() => udp({ peers: ['127.0.0.1:4000'] }), { code: 'INVALID_ARGUMENT' });
    assert.equal(udp().mtuBytes, 8192);
    assert.equal(udp({ host: '::1' }).mtuBytes, 8192);
  });

  it('fails start() with TRANSPORT when the port is taken, and names its address with a nonce', async () => {
    const a = await started();
    assert.match(a.localId, /^udp:127\.0\.0\.1:\d+#[0-9a-f]{8}$/);
    const port = parseUdpAddress(a.localId)!.port;
    await assert.rejects(udp({ port }).start(), { name: 'SynodError', code: 'TRANSPORT' });
    assert.ok(a.receiveBufferBytes >= 212_992, `receive buffer ${a.receiveBufferBytes}`);
  });

  it('drops junk datagrams at the socket and counts them, then carries on', async () => {
    const a = await started();
    const b = await started({ peers: [a.localId] });
    const atA = collect(a);
    const target = parseUdpAddress(a.localId)!;
    const junk = dgram.createSocket('udp4');
    const frames = [Buffer.alloc(0), Buffer.from([0x55]), Buffer.from('hello world'), Buffer.alloc(10), Buffer.from([0x55, 0x11, 0, 0, 0, 0, 0, 0, 0, 0])];
    for (const frame of frames) await new Promise((resolve) => junk.send(frame, target.port, target.host, resolve));
    junk.close();
    b.send(a.localId, Uint8Array.of(1));
    await waitFor(() => atA.length === 1 && a.stats.droppedMalformed === frames.length, 'the good datagram after the junk');
    assert.equal(a.stats.framesReceived, 1);
  });

  it('bundles the frames sent to a peer in one turn into few datagrams, in order', async () => {
    const a = await started();
    const b = await started({ peers: [a.localId] });
    const atA = collect(a);
    for (let i = 0; i < 1000; i++) b.send(a.localId, Uint8Array.of(i >> 8, i & 0xff, 0, 0, 0, 0, 0, 0));
    b.send(a.localId, new Uint8Array(0));
    b.send(a.localId, new Uint8Array(b.mtuBytes).fill(7)); // too big to bundle: alone, after the others
    await waitFor(() => atA.length === 1002, '1002 frames');
    assert.deepEqual(
      atA.slice(0, 1000).map((bytes) => (bytes[0]! << 8) | bytes[1]!),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.deepEqual([atA[1000]!.length, atA[1001]!.length], [0, b.mtuBytes]);
    assert.ok(b.stats.datagramsSent <= 4, `${b.stats.datagramsSent} datagrams for 1002 frames`);
    assert.equal(b.stats.framesSent, 1002);
    assert.equal(a.stats.framesReceived, 1002);
    const unbundled = await started({ peers: [a.localId], bundle: false });
    await waitFor(() => a.peers().includes(unbundled.localId), 'a to learn the unbundled peer');
    for (let i = 0; i < 10; i++) unbundled.send(a.localId, Uint8Array.of(i));
    await waitFor(() => atA.length === 1012, 'ten more');
    assert.equal(unbundled.stats.datagramsSent, 10);
  });

  it('drops a malformed batch whole and counts it', async () => {
    const a = await started();
    const atA = collect(a);
    const target = parseUdpAddress(a.localId)!;
    const junk = dgram.createSocket('udp4');
    const batch = (...body: number[]) => {
      const datagram = Buffer.alloc(HEADER_BYTES + body.length);
      writeHeader(datagram, Kind.Batch, 0xabcdef01, 0);
      datagram.set(body, HEADER_BYTES);
      return datagram;
    };
    for (const frame of [batch(), batch(0), batch(0, 3, 1, 2), batch(0, 1, 9, 0, 5, 1)]) {
      await new Promise((resolve) => junk.send(frame, target.port, target.host, resolve));
    }
    await new Promise((resolve) => junk.send(batch(0, 1, 9, 0, 2, 1, 2), target.port, target.host, resolve));
    junk.close();
    await waitFor(() => atA.length === 2, 'the well-formed batch');
    assert.deepEqual(atA.map((bytes) => [...bytes]), [[9], [1, 2]]);
    assert.equal(a.stats.droppedMalformed, 4);
  });

  it('tells incarnations on one port apart: a restart is a new address and linkDown for the old', async () => {
    const a = await started();
    const port = await freePort('127.0.0.1');
    const first = await started({ port, peers: [a.localId] });
    await waitFor(() => a.peers().includes(first.localId), 'a to learn the first incarnation');
    const down: string[] = [];
    a.onLinkDown((peer) => down.push(peer));
    first.abort();
    const second = await started({ port, peers: [a.localId] });
    assert.notEqual(second.localId, first.localId);
    await waitFor(() => down.includes(first.localId) && a.peers().includes(second.localId), 'linkDown for the first, the second in peers()');
    assert.ok(!a.peers().includes(first.localId));
    const atSecond = collect(second);
    a.send(first.localId, Uint8Array.of(1)); // to the finished incarnation: dropped at a
    a.send(second.localId, Uint8Array.of(2));
    await waitFor(() => atSecond.length === 1, 'the datagram for the second incarnation');
    assert.deepEqual([...atSecond[0]!], [2]);
    assert.ok(a.stats.droppedUnreachable >= 1);
  });

  it('finds a crashed peer gone by ICMP port-unreachable, not by silence alone', async () => {
    const a = await started({ probeAfterMs: 100 });
    const b = await started({ peers: [a.localId] });
    await waitFor(() => a.peers().includes(b.localId), 'a to learn b');
    const down: string[] = [];
    a.onLinkDown((peer) => down.push(peer));
    b.abort();
    await waitFor(() => down.includes(b.localId), 'linkDown for the crashed peer');
    assert.equal(a.stats.peersRefused, 1);
    // A peer that is merely silent (its event loop stalls, its port still bound) is probed but
    // never declared gone. It says hello once, then never answers again.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      const target = parseUdpAddress(a.localId)!;
      silent.send(controlDatagram(Kind.Hello, 0x5151, 0), target.port, target.host);
      const silentId = formatUdpAddress('127.0.0.1', silent.address().port, 0x5151);
      await waitFor(() => a.peers().includes(silentId), 'a to learn the silent peer');
      const probesBefore = a.stats.probesSent;
      await waitFor(() => a.stats.probesSent >= probesBefore + 2, 'probes of the silent peer');
      assert.ok(a.peers().includes(silentId));
      assert.equal(a.stats.peersRefused, 1);
    } finally {
      silent.close();
    }
  });

  it('never sends across address families, and sends nothing after close', async () => {
    const a = await started();
    a.send('udp:[::1]:9#00000001', Uint8Array.of(1));
    a.send('not an address', Uint8Array.of(1));
    a.send(a.localId, Uint8Array.of(1)); // itself
    assert.equal(a.stats.droppedUnreachable, 3);
    assert.equal(a.stats.framesSent, 0);
    await a.close();
    await a.close();
    a.send('udp:127.0.0.1:9', Uint8Array.of(1));
    assert.equal(a.stats.droppedUnreachable, 4);
    assert.deepEqual(a.peers(), []);
    await assert.rejects(a.start(), { code: 'CLOSED' });
  });

  it('releases its socket on close, so the process exits', { timeout: 20_000 }, async () => {
    const script = `
      import { udp } from '@synod/transport-udp';
      const a = udp(); const b = udp();
      await a.start(); await b.start(); a.addPeer(b.localId);
      a.send(b.localId, Uint8Array.of(1));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await a.close(); await b.close();
      console.log('closed');`;
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    assert.deepEqual([code, signal, output.trim()], [0, null, 'closed']);
  });
});
