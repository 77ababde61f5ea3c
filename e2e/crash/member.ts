/**
 * One member of the multi-process crash scenario (scenario.ts spawns three of these), over UDP or
 * WebRTC:
 *
 *   E2E_TRANSPORT=udp E2E_PORT=40001 E2E_PEERS=udp:127.0.0.1:40001,… SYNOD_TRACE=member0.jsonl \
 *     node --conditions=source --import tsx e2e/crash/member.ts
 *   E2E_TRANSPORT=webrtc E2E_SIGNALING=ws://127.0.0.1:8787 E2E_ROOM=crash SYNOD_TRACE=… …
 *
 * Joins group 'e2e', waits for a view of E2E_MEMBERS (default 3), abcasts E2E_MESSAGES messages
 * with a window of E2E_WINDOW of its own messages not yet delivered back, then — once it has
 * delivered every message of every member of its current view — abcasts DONE, and leaves once
 * every member of its view said DONE. Reports on stdout as JSON lines: joined, view, sent and
 * progress (every 500 sends and deliveries), summary.
 */
import { createPeer, type Transport } from '@synod/peer';
import { changes, env, exitAtDeadline, linkToFounder, reporter } from '../member-io.js';

const transportName = env('E2E_TRANSPORT', 'udp');
const messages = Number(env('E2E_MESSAGES', '10000'));
const members = Number(env('E2E_MEMBERS', '3'));
const windowSize = Number(env('E2E_WINDOW', '256'));
const payloadBytes = Number(env('E2E_PAYLOAD_BYTES', '100'));
const report = reporter();
exitAtDeadline(report, 120_000);

async function makeTransport(): Promise<Transport> {
  switch (transportName) {
    case 'udp': {
      const { udp } = await import('@synod/transport-udp');
      return udp({ port: Number(env('E2E_PORT')), peers: env('E2E_PEERS').split(',').filter(Boolean) });
    }
    case 'webrtc': {
      const { webrtc } = await import('@synod/transport-webrtc');
      return webrtc({ signaling: env('E2E_SIGNALING'), room: env('E2E_ROOM') });
    }
    default:
      throw new Error(`E2E_TRANSPORT: udp or webrtc, not ${transportName}`);
  }
}

const peer = await createPeer({ transport: await makeTransport() });
// Over WebRTC the first link attempt to the founder sometimes fails (node-datachannel: "Got a
// remote candidate without ICE transport" in setRemoteDescription) and start() stops waiting for a
// peer after one failure; the transport's reconnect mends the link a moment later, so waiting for
// it here is enough.
await linkToFounder(peer);
// Generous suspicion: on a loaded 2-core machine a busy event loop is silent for a while. A crash
// is still seen at once as linkDown: UDP's ICMP probe finds the dead port; over WebRTC the
// signaling server sees the socket close and the survivors' probe on the link goes unanswered.
const group = await peer.join('e2e', { heartbeatMs: 200, suspectAfterMs: 5000, discoveryMs: 300 });
report('joined', { member: group.memberId, address: peer.id, peers: peer.transport.peers().length, transport: peer.transport.stats });
report('view', { viewId: group.view!.viewId, members: group.view!.members });

let delivered = 0;
let deliveredOwn = 0;
const bySender = new Map<string, number>();
const done = new Set<string>();
const { changed, until } = changes();

group.handle('M', (message) => {
  delivered++;
  if (message.sender === group.memberId) deliveredOwn++;
  bySender.set(message.sender, (bySender.get(message.sender) ?? 0) + 1);
  if (delivered % 500 === 0) report('progress', { delivered, deliveredOwn });
  changed();
});
group.handle('DONE', (message) => {
  done.add(message.sender);
  changed();
});
group.on('view', (view) => {
  report('view', { viewId: view.viewId, members: view.members });
  changed();
});
group.on('error', (error) => {
  report('error', { message: String(error) });
  process.exitCode = 1;
});

await until(() => (group.view?.members.length ?? 0) >= members);
const started = performance.now();
const payload = new Uint8Array(payloadBytes);
// Self-clocked: at most windowSize of this member's messages sent and not yet delivered back.
// (abcast resolves when a message leaves the send queue, long before it is ordered.)
let sent = 0;
let failed: unknown;
while (sent < messages && failed === undefined) {
  new DataView(payload.buffer).setUint32(0, sent);
  group.abcast('M', payload).catch((error: unknown) => {
    failed = error;
    changed();
  });
  if (++sent % 500 === 0) report('sent', { sent });
  if (sent - deliveredOwn >= windowSize) await until(() => sent - deliveredOwn < windowSize || failed !== undefined);
}
if (failed !== undefined) {
  report('error', { message: String(failed) });
  process.exit(1);
}
const sentMs = performance.now() - started;
const everyoneDelivered = () => (group.view?.members ?? []).every((member) => (bySender.get(member) ?? 0) >= messages);
await until(everyoneDelivered);
await group.abcast('DONE');
await until(() => (group.view?.members ?? []).every((member) => done.has(member)));
report('summary', {
  member: group.memberId,
  sent: messages,
  delivered,
  bySender: Object.fromEntries(bySender),
  sentMs: Math.round(sentMs),
  totalMs: Math.round(performance.now() - started),
  transport: peer.transport.stats,
});
await peer.close();
