/**
 * Three Node processes over UDP abcast 10,000 messages each while one of them is killed with
 * SIGKILL mid-stream (a member, then the coordinator and sequencer): the survivors' traces agree,
 * nothing is lost or duplicated. The scenario is crash/scenario.ts, shared with webrtc.test.ts;
 * members find each other by a static list of loopback ports.
 */
import dgram from 'node:dgram';
import { crashSuite } from './crash/scenario.js';

async function freePort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

crashSuite({
  transport: 'udp',
  messages: Number(process.env['E2E_MESSAGES'] ?? 10_000),
  timeoutMs: 60_000,
  async setUp() {
    const ports = [await freePort(), await freePort(), await freePort()];
    const peers = ports.map((port) => `udp:127.0.0.1:${port}`).join(',');
    return { env: (index) => ({ E2E_PORT: String(ports[index]), E2E_PEERS: peers }), tearDown: async () => undefined };
  },
});
