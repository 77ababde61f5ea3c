/**
 * One process of e2e/toolkit-replicated.test.ts: joins group 'rep' over UDP with a replicated map
 * 'm'; a writer (E2E_WRITES > 0) sets E2E_WRITES unique keys `<index>:<n>` plus hot keys, a few per
 * turn, once the view holds E2E_MEMBERS members. Reports JSON lines on stdout: joined, view,
 * progress, finished (every write acknowledged), and state (version, digest, size, a content hash
 * and keys per writer) whenever the replica changed, until SIGTERM.
 */
import { createPeer } from '@synod/peer';
import { udp } from '@synod/transport-udp';
import { replicated, type ReplicatedMap } from '../../packages/toolkit/src/index.js';
import { env, exitAtDeadline, linkToFounder, reporter } from '../member-io.js';

const index = Number(env('E2E_INDEX'));
const writes = Number(env('E2E_WRITES', '0'));
const members = Number(env('E2E_MEMBERS', '3'));
const report = reporter({ index });
exitAtDeadline(report, 60_000);
process.on('SIGTERM', () => process.exit(0));

const peer = await createPeer({ transport: udp({ port: Number(env('E2E_PORT')), peers: env('E2E_PEERS').split(',').filter(Boolean) }) });
await linkToFounder(peer);
let map!: ReplicatedMap;
const group = await peer.join('rep', { heartbeatMs: 200, suspectAfterMs: 5000, discoveryMs: 300, setup: (g) => (map = replicated(g, 'm', 'map')) });
report('joined', { member: group.memberId, address: peer.id, version: map.version, size: map.size });
report('view', { viewId: group.view!.viewId, members: group.view!.members });
group.on('view', (view) => report('view', { viewId: view.viewId, members: view.members }));
group.on('error', (error) => report('error', { message: String(error) }));

function state() {
  const byWriter: Record<string, number> = {};
  let hash = 0x811c9dc5;
  for (const key of [...map.keys()].sort()) {
    const writer = key.split(':')[0]!;
    if (key.includes(':')) byWriter[writer] = (byWriter[writer] ?? 0) + 1;
    for (const char of `${key}=${JSON.stringify(map.get(key))};`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  return { version: map.version, digest: map.digest, size: map.size, hash, byWriter };
}
let lastVersion = -1;
setInterval(() => {
  if (map.version === lastVersion) return;
  lastVersion = map.version;
  report('state', state());
}, 100);

if (writes > 0) {
  while ((group.view?.members.length ?? 0) < members) await new Promise((resolve) => setTimeout(resolve, 20));
  const perTurn = 10;
  for (let n = 0; n < writes; n += perTurn) {
    const turn: Promise<void>[] = [];
    for (let k = n; k < Math.min(writes, n + perTurn); k++) {
      turn.push(map.set(`${index}:${k}`, { k, by: index }));
      turn.push(map.set(`hot${k % 7}`, { k, by: index }));
    }
    await Promise.all(turn);
    if (n % 200 === 0) report('progress', { acked: n + perTurn });
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  report('finished', { acked: writes });
}
