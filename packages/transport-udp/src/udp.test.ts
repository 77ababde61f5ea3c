import dgram from 'node:dgram';
import { transportCompliance, type ComplianceNetwork } from '@synod/peer/compliance';
import { startSignalingServer } from '@synod/signaling/server';
import { formatUdpAddress, parseUdpAddress, udp, type UdpTransport } from './index.js';
import { HEADER_BYTES, Kind, writeHeader } from './wire.js';

// Fast liveness so a crashed peer leaves peers() well within the suite's 2 s.
const timing = { keepaliveMs: 50, probeAfterMs: 200 };

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
