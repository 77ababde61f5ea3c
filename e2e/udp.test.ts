/**
 * Three Node processes over UDP abcast 10,000 messages each while one of them is killed with
 * SIGKILL mid-stream (a member, then the coordinator and sequencer): the survivors' traces agree,
 * nothing is lost or duplicated. The scenario is crash/scenario.ts, shared with webrtc.test.ts;
 * members find each other by a static list of loopback ports.
 */
import { crashSuite } from './crash/scenario.js';
import { udpPeers } from './process.js';

crashSuite({
  transport: 'udp',
  messages: Number(process.env['E2E_MESSAGES'] ?? 10_000),
  timeoutMs: 60_000,
  async setUp() {
    const { ports, peers } = await udpPeers(3);
    return { env: (index) => ({ E2E_PORT: String(ports[index]), E2E_PEERS: peers }), tearDown: async () => undefined };
  },
});
