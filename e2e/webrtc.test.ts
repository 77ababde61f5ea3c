/**
 * Three Node processes over WebRTC (node-datachannel) abcast while one of them is killed with
 * SIGKILL mid-stream (a member, then the coordinator and sequencer): the survivors' traces agree,
 * nothing is lost or duplicated. The scenario is crash/scenario.ts, shared with udp.test.ts;
 * members meet through a real signaling server on a loopback port, one room per run.
 */
import { startSignalingServer } from '@synod/signaling/server';
import { crashSuite } from './crash/scenario.js';

crashSuite({
  transport: 'webrtc',
  messages: Number(process.env['E2E_WEBRTC_MESSAGES'] ?? process.env['E2E_MESSAGES'] ?? 10_000),
  timeoutMs: 90_000,
  async setUp(run) {
    const server = await startSignalingServer({ port: 0, host: '127.0.0.1' });
    return { env: () => ({ E2E_SIGNALING: server.url, E2E_ROOM: `crash-${run}` }), tearDown: () => server.close() };
  },
});
