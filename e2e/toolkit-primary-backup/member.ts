/**
 * One member of the primary-backup e2e (toolkit-primary-backup.test.ts spawns three):
 *
 *   E2E_PORT=40001 E2E_PEERS=udp:127.0.0.1:40001,… E2E_REQUESTS=300 \
 *     node --conditions=source --import tsx e2e/toolkit-primary-backup/member.ts
 *
 * Joins group 'pb' with a primary-backup counter whose state is the log of the request ids it
 * applied (a request is answered with the log's length), waits for a view of three, then sends
 * E2E_REQUESTS requests, E2E_WINDOW at a time, reporting every acknowledgement. Once done it
 * abcasts DONE; once every member of its view said DONE it reports its final log and leaves.
 * Reports on stdout as JSON lines: joined, view, ack, done, final.
 */
import { createPeer } from '@synod/peer';
import { udp } from '@synod/transport-udp';
// e2e/ does not depend on @synod/toolkit (yet): the module by path, run from source by tsx.
import { primaryBackup, type PrimaryBackup } from '../../packages/toolkit/src/primary-backup.js';
import { changes, env, exitAtDeadline, linkToFounder, reporter } from '../member-io.js';

const requests = Number(env('E2E_REQUESTS', '300'));
const windowSize = Number(env('E2E_WINDOW', '4'));
const report = reporter();
exitAtDeadline(report, 60_000);

const peer = await createPeer({ transport: udp({ port: Number(env('E2E_PORT')), peers: env('E2E_PEERS').split(',') }) });
await linkToFounder(peer);

let log: string[] = [];
const service = {
  apply: (request: { id: string }) => log.push(request.id),
  save: () => new TextEncoder().encode(JSON.stringify(log)),
  load: (bytes: Uint8Array) => void (log = JSON.parse(new TextDecoder().decode(bytes)) as string[]),
};
let counter!: PrimaryBackup<{ id: string }, number>;
const done = new Set<string>();
const { changed, until } = changes();

const group = await peer.join('pb', {
  heartbeatMs: 200,
  suspectAfterMs: 5000,
  discoveryMs: 300,
  setup: (g) => {
    counter = primaryBackup(g, service);
    g.on('view', (view) => {
      report('view', { viewId: view.viewId, members: view.members, primary: counter.primary, isPrimary: counter.isPrimary, applied: counter.appliedSeq });
      changed();
    });
    g.handle('DONE', (message) => {
      done.add(message.sender);
      changed();
    });
    g.on('error', (error) => {
      report('error', { message: String(error) });
      process.exitCode = 1;
    });
  },
});
report('joined', { member: group.memberId, address: peer.id });
await until(() => (group.view?.members.length ?? 0) >= 3);

const index = env('E2E_INDEX');
let sent = 0;
let acked = 0;
let inFlight = 0;
while (sent < requests) {
  const id = `c${index}-${sent++}`;
  inFlight++;
  counter.request({ id }).then(
    (response) => {
      acked++;
      inFlight--;
      report('ack', { id, response });
      changed();
    },
    (error: unknown) => {
      report('error', { message: String(error) });
      process.exit(1);
    },
  );
  if (inFlight >= windowSize) await until(() => inFlight < windowSize);
}
await until(() => acked === requests);
report('done', { acked, stats: counter.stats });
await group.abcast('DONE');
await until(() => (group.view?.members ?? []).every((member) => done.has(member)));
report('final', { member: group.memberId, log, applied: counter.appliedSeq, primary: counter.primary, stats: counter.stats });
await peer.close();
