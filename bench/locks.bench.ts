/**
 * Uncontended lock acquire latency of the toolkit (acquire → grant valid) with 3 members in one
 * process over the memory transport and the real clock, beside baselines from the same run: the
 * round trip of an abcast gathering replies from all members, and the raw transport's one-way
 * delay (half a ping-pong), in which the figures are also given as message delays.
 *
 *   node --conditions=source --import tsx bench/locks.bench.ts      (or: pnpm bench locks)
 */
import { createPeer, type Group, type Peer } from '@synod/peer';
import { createHub, memory } from '@synod/transport-memory';
import { createLocks, type Locks } from '../packages/toolkit/src/locks.js';
import { percentile, report } from './lib.js';

const SAMPLES = Number(process.env['BENCH_LATENCY_SAMPLES'] ?? 300);
const timing = { heartbeatMs: 50, suspectAfterMs: 3000, discoveryMs: 100 };

async function rawOneWayMs(): Promise<number> {
  const hub = createHub();
  const [a, b] = [memory({ hub, id: 'ping' }), memory({ hub, id: 'pong' })];
  await Promise.all([a.start(), b.start()]);
  b.onMessage((from, bytes) => b.send(from, bytes));
  let wake: (() => void) | undefined;
  a.onMessage(() => wake?.());
  const rtts: number[] = [];
  for (let i = 0; i < SAMPLES * 3; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      wake = resolve;
      a.send('pong', new Uint8Array(32));
    });
    rtts.push(performance.now() - start);
  }
  await Promise.all([a.close(), b.close()]);
  rtts.sort((x, y) => x - y);
  return percentile(rtts, 50) / 2;
}

async function form(): Promise<{ peers: Peer[]; groups: Group[]; locks: Locks[] }> {
  const hub = createHub();
  const peers: Peer[] = [];
  const groups: Group[] = [];
  const locks: Locks[] = [];
  for (let i = 0; i < 3; i++) {
    const peer = await createPeer({ transport: memory({ hub, id: `p${i}` }), trace: false });
    peers.push(peer);
    const setup = (group: Group) => {
      locks[i] = createLocks(group);
      group.handle('PING', (message) => message.reply());
    };
    groups.push(await peer.join('bench', { ...timing, setup }));
  }
  while (!groups.every((group) => group.view?.members.length === 3)) await new Promise((resolve) => setTimeout(resolve, 10));
  return { peers, groups, locks };
}

async function main(): Promise<void> {
  const progress = (what: string) => process.stderr.write(`locks.bench: ${what}\n`);
  const oneWayMs = await rawOneWayMs();
  progress('raw transport measured');
  const { peers, groups, locks } = await form();
  progress('group formed');
  // Let the first lease renewal and a joiner's lease wait (default 2 s lease) pass.
  await new Promise((resolve) => setTimeout(resolve, 2200));

  const abcastMs: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    await groups[1]!.abcast('PING', i, { replies: 'all' });
    abcastMs.push(performance.now() - start);
  }
  progress('abcast measured');
  const acquireMs: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    const grant = await locks[1]!.acquire('bench');
    acquireMs.push(performance.now() - start);
    await grant.release();
  }
  abcastMs.sort((a, b) => a - b);
  acquireMs.sort((a, b) => a - b);
  const abcastP50 = percentile(abcastMs, 50);
  const acquireP50 = percentile(acquireMs, 50);
  report('raw.memory.oneway.p50', 'ms', oneWayMs, oneWayMs);
  report('abcast.replies-all.n3.p50', 'ms', abcastP50, abcastP50);
  report('locks.acquire.uncontended.n3.p50', 'ms', acquireP50, abcastP50);
  report('locks.acquire.uncontended.n3.p99', 'ms', percentile(acquireMs, 99), percentile(abcastMs, 99));
  report('locks.acquire.uncontended.n3.p50.delays', 'message delays', acquireP50 / oneWayMs, abcastP50 / oneWayMs);
  await Promise.all(peers.map((peer) => peer.close()));
}

await main();
