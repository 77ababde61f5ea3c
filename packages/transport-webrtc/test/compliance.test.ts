// The shared transport compliance suite over real data channels, once per Node implementation,
// through a real signaling server. Opens sockets: scripts/test.mjs runs it in a loopback-only
// network namespace.
import { transportCompliance } from '@synod/peer/compliance';
import { startSignalingServer, type SignalingServer } from '@synod/signaling/server';
import { webrtc, type WebRtcTransport } from '../src/index.js';

for (const rtc of ['node-datachannel', '@roamhq/wrtc'] as const) {
  transportCompliance(
    `webrtc (${rtc})`,
    async () => {
      const server: SignalingServer = await startSignalingServer({ port: 0 });
      const room = `compliance-${Math.random().toString(36).slice(2)}`;
      const made: WebRtcTransport[] = [];
      return {
        create: () => {
          const transport = webrtc({ signaling: server.url, room, rtc });
          made.push(transport);
          return transport;
        },
        kill: (transport) => (transport as WebRtcTransport).abort(),
        teardown: async () => {
          await Promise.all(made.map((transport) => transport.close()));
          await server.close();
        },
      };
    },
    // node-datachannel's DTLS handshake takes about a second on loopback (README).
    { timeoutMs: 8000, quietMs: 100 },
  );
}
