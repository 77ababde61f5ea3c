/**
 * One process of e2e/toolkit-node.test.ts: a tools member (toolkit-browser/harness.ts) over UDP
 * whose checkpoint lives in files under E2E_DIR, driven by JSON lines on stdin and reporting JSON
 * lines on stdout (member-io.ts):
 *   ← { event: 'started', member, address }
 *   → { cmd: 'call', id, method, args }   ← { event: 'result', id, value } | { event: 'failed', id, message }
 *   ← { event: 'report', rid, body }      → { cmd: 'ack', rid }   (a critical section's enter or exit)
 * Exits when its stdin closes.
 *
 *   E2E_INDEX=0 E2E_PORT=40001 E2E_PEERS=udp:127.0.0.1:40001,… E2E_DIR=/tmp/m0 [E2E_FOUNDER=…] [E2E_SLOW_MS=3000] \
 *     node --conditions=source --import tsx e2e/toolkit-node/member.ts
 */
import { createInterface } from 'node:readline';
import { createPeer } from '@synod/peer';
import { openStorage } from '@synod/storage';
import { udp } from '@synod/transport-udp';
import { env, exitAtDeadline, linkToFounder, reporter } from '../member-io.js';
import { startToolsMember, type ReportEvent } from '../toolkit-browser/harness.js';

const index = Number(env('E2E_INDEX'));
const report = reporter({ index });
exitAtDeadline(report, 90_000);

const acks = new Map<number, () => void>();
let nextReport = 1;
const toRunner = (body: ReportEvent) =>
  new Promise<void>((resolve) => {
    const rid = nextReport++;
    acks.set(rid, resolve);
    report('report', { rid, body });
  });

const peer = await createPeer({ transport: udp({ port: Number(env('E2E_PORT')), peers: env('E2E_PEERS').split(',') }), trace: false });
await linkToFounder(peer);
const storage = await openStorage('toolkit-e2e', { dir: env('E2E_DIR') });
const member = await startToolsMember(peer, storage, `m${index}`, toRunner, Number(env('E2E_SLOW_MS', '0')));
report('started', { member: ((await member.call('info', [])) as { memberId: string }).memberId, address: peer.id });

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const command = JSON.parse(line) as Record<string, any>;
  if (command['cmd'] === 'ack') {
    acks.get(command['rid'])?.();
    acks.delete(command['rid']);
    return;
  }
  const id = command['id'];
  member.call(command['method'], command['args']).then(
    (value) => report('result', { id, value: value ?? null }),
    (error) => report('failed', { id, message: String(error instanceof Error ? error.stack : error) }),
  );
});
commands.on('close', () => process.exit(0));
