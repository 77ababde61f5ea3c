/**
 * The Node member of e2e/toolkit-browser.test.ts (node-datachannel), driven by its parent over IPC:
 *   → { cmd: 'start', signaling, room, dir }       ← { event: 'started' }
 *   → { cmd: 'call', id, method, args }            ← { event: 'result', id, value } | { event: 'failed', id, message }
 *   ← { event: 'report', rid, body }               → { cmd: 'ack', rid }   (a critical section's enter or exit)
 * Its checkpoint lives in files under `dir`.
 */
import { createPeer } from '@synod/peer';
import { openStorage } from '@synod/storage';
import { webrtc } from '@synod/transport-webrtc';
import { startToolsMember, type ToolsMember } from './harness.js';

const reply = (message: Record<string, unknown>): void => void process.send!(message);
let member: ToolsMember | undefined;
let nextReport = 1;
const acks = new Map<number, () => void>();

setTimeout(() => process.exit(3), Number(process.env['E2E_DEADLINE_MS'] ?? 120_000)).unref();
process.on('disconnect', () => process.exit(0));

process.on('message', (command: Record<string, any>) => {
  if (command['cmd'] === 'ack') {
    acks.get(command['rid'])?.();
    acks.delete(command['rid']);
    return;
  }
  void (async () => {
    const id = command['id'];
    try {
      if (command['cmd'] === 'start') {
        const storage = await openStorage('toolkit-e2e', { dir: command['dir'] });
        const peer = await createPeer({ transport: webrtc({ signaling: command['signaling'], room: command['room'] }), trace: false });
        member = await startToolsMember(peer, storage, 'node', (body) => {
          const rid = nextReport++;
          return new Promise<void>((resolve) => {
            acks.set(rid, resolve);
            reply({ event: 'report', rid, body });
          });
        }, 3000);
        reply({ event: 'started' });
      } else if (command['cmd'] === 'call') {
        reply({ event: 'result', id, value: (await member!.call(command['method'], command['args'])) ?? null });
      }
    } catch (error) {
      reply({ event: 'failed', id, message: String(error instanceof Error ? error.stack : error) });
    }
  })();
});
