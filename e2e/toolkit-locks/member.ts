/**
 * One process of e2e/toolkit-locks.test.ts: joins group 'locks' over UDP, then loops taking the
 * write lock 'log' and, under it, appending `begin` and `end` lines carrying its fencing token to
 * the shared file E2E_LOG (a resource guarded by the lock), checking grant.valid() before each
 * append. Reports JSON lines on stdout: joined, view, holding (inside the critical section), grants.
 * Stops (leaves the group) when its stdin closes.
 *
 *   E2E_INDEX=0 E2E_PORT=40001 E2E_PEERS=udp:127.0.0.1:40001,… E2E_LOG=/tmp/log \
 *     node --conditions=source --import tsx e2e/toolkit-locks/member.ts
 */
import { appendFileSync } from 'node:fs';
import { createPeer } from '@synod/peer';
import { udp } from '@synod/transport-udp';
// e2e's package.json does not list the toolkit; the source is imported directly, as tsx runs it.
import { createLocks, type Locks } from '../../packages/toolkit/src/locks.js';
import { env, exitAtDeadline, linkToFounder, reporter } from '../member-io.js';

const index = Number(env('E2E_INDEX'));
const logPath = env('E2E_LOG');
const report = reporter({ index });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
exitAtDeadline(report, 90_000);

const peer = await createPeer({ transport: udp({ port: Number(env('E2E_PORT')), peers: env('E2E_PEERS').split(',') }) });
await linkToFounder(peer);
let locks!: Locks;
const group = await peer.join('locks', {
  heartbeatMs: 200,
  suspectAfterMs: 3000,
  discoveryMs: 300,
  setup: (g) => void (locks = createLocks(g, { leaseMs: 1000 })),
});
report('joined', { member: group.memberId, address: peer.id });
group.on('view', (view) => report('view', { viewId: view.viewId, members: view.members }));

let stopping = false;
process.stdin.on('end', () => (stopping = true));
process.stdin.resume();

let grants = 0;
while (!stopping) {
  try {
    const grant = await locks.acquire('log', 'write', { timeoutMs: 20_000 });
    grants++;
    const append = (what: string) => {
      if (!grant.valid()) throw new Error(`grant ${grant.fencingToken} no longer valid before ${what}`);
      appendFileSync(logPath, `${grant.fencingToken} ${index} ${what} ${Date.now()}\n`);
    };
    try {
      append('begin');
      report('holding', { fencingToken: grant.fencingToken, grants });
      await sleep(30);
      append('end');
    } finally {
      await grant.release();
    }
    await sleep(5 + Math.floor(Math.random() * 20)); // app code; the toolkit itself uses the group's clock
  } catch (error) {
    report('error', { message: String(error) });
    await sleep(100);
  }
}
await group.leave();
await peer.close();
report('left', { grants });
process.exit(0);
