/**
 * Shared regions over the in-process memory transport, 3 members, beside baselines measured in the same run.
 *   lock round trip: lock(page, 'write') + one write + release, one after another at one member;
 *                    baseline: one safe multicast until its sender delivers it (a lock costs two
 *                    safe rounds, the request and the release, plus the diff).
 *   diff bytes:      bytes on the wire per section that writes 8 bytes, by page size; baseline: the
 *                    page size (shipping whole pages).
 *   updates/s:       sections (lock, write a counter, release) per second, each member on its own
 *                    page, under each consistency model; baseline: strong consistency done the
 *                    plain way, one abcast per write awaited by its writer (sequential consistency).
 * Prints `BENCH {"name","unit","value","baseline","ratio"}` lines. Not a test: figures vary by machine.
 */
import { createPeer, type Group } from '@synod/peer';
import { createHub, memory } from '@synod/transport-memory';
import { map, type Consistency, type Region } from '../packages/objects/src/index.js';
import { report } from './lib.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 300);

async function trio(consistency: Consistency, pageSize = 4096, pages = 4): Promise<{ groups: Group[]; regions: Region[]; close: () => Promise<void> }> {
  const hub = createHub();
  const groups: Group[] = [];
  const regions: Region[] = [];
  const peers = [];
  for (let i = 0; i < 3; i++) {
    const peer = await createPeer({ transport: memory({ hub }) });
    peers.push(peer);
    groups.push(await peer.join('bench', { setup: (g) => (regions[i] = map(g, 'r', { pages, pageSize, consistency })) }));
  }
  while (groups.some((g) => (g.view?.members.length ?? 0) < 3)) await new Promise((resolve) => setTimeout(resolve, 10));
  return { groups, regions, close: async () => void (await Promise.all(groups.map((g) => g.leave()))) };
}

async function lockRoundTrip(): Promise<void> {
  const { groups, regions, close } = await trio('release');
  let delivered: (() => void) | undefined;
  groups[0]!.handle('PING', () => delivered?.());
  const safeRound = async () => {
    const done = new Promise<void>((resolve) => (delivered = resolve));
    await groups[0]!.safe('PING', 1);
    await done;
  };
  const lockRound = async (i: number) => {
    const section = await regions[0]!.lock(0, 'write');
    section.page(0).setUint32(0, i);
    await section.release();
  };
  for (let i = 0; i < 20; i++) await Promise.all([safeRound(), lockRound(i)]); // warm up
  let start = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) await safeRound();
  const safeMs = (performance.now() - start) / ROUND_TRIPS;
  start = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) await lockRound(i);
  const lockMs = (performance.now() - start) / ROUND_TRIPS;
  report('objects lock+release round trip, 3 members (ms)', 'ms', lockMs, safeMs);
  await close();
}

async function diffBytes(): Promise<void> {
  for (const pageSize of [256, 4096, 65536]) {
    const { regions, close } = await trio('release', pageSize, 2);
    const sections = 50;
    for (let i = 0; i < sections; i++) {
      await regions[0]!.withLock(0, 'write', (s) => s.page(0).setFloat64(((i * 40) % (pageSize / 8)) * 8, Math.random()));
    }
    report(`objects diff bytes per 8-byte write, page ${pageSize} B`, 'bytes', regions[0]!.stats.diffBytesSent / sections, pageSize);
    await close();
  }
}

async function updatesPerSecond(): Promise<void> {
  // Strong consistency the plain way: every write an abcast, awaited by its writer until delivered.
  const baseline = await trio('release');
  const applied: number[] = [0, 0, 0];
  baseline.groups.forEach((g, i) => g.handle('WRITE', (m) => void (m.sender === g.memberId && (applied[i]! += 1))));
  const strongWriter = async (i: number, until: number) => {
    let writes = 0;
    while (performance.now() < until) {
      const before = applied[i]!;
      await baseline.groups[i]!.abcast('WRITE', writes++);
      while (applied[i] === before) await new Promise((resolve) => setImmediate(resolve));
    }
    return writes;
  };
  let until = performance.now() + DURATION_MS;
  const strongWrites = (await Promise.all([0, 1, 2].map((i) => strongWriter(i, until)))).reduce((a, b) => a + b, 0);
  const strongRate = strongWrites / (DURATION_MS / 1000);
  await baseline.close();
  for (const consistency of ['release', 'causal'] as const) {
    const { regions, close } = await trio(consistency);
    const writer = async (i: number, deadline: number) => {
      let sections = 0;
      while (performance.now() < deadline) {
        await regions[i]!.withLock(i, 'write', (s) => s.page(i).setUint32(0, s.page(i).getUint32(0) + 1));
        sections++;
      }
      return sections;
    };
    until = performance.now() + DURATION_MS;
    const total = (await Promise.all([0, 1, 2].map((i) => writer(i, until)))).reduce((a, b) => a + b, 0);
    report(`objects updates/s, ${consistency}, 3 members, one write per section (vs abcast per write)`, 'updates/s', total / (DURATION_MS / 1000), strongRate);
    // Sixteen writes in one section: one diff and one lock round for all of them.
    until = performance.now() + DURATION_MS;
    const batched = await Promise.all(
      [0, 1, 2].map(async (i) => {
        let writes = 0;
        while (performance.now() < until) {
          await regions[i]!.withLock(i, 'write', (s) => {
            for (let k = 0; k < 16; k++) s.page(i).setUint32(8 + 4 * k, writes + k);
          });
          writes += 16;
        }
        return writes;
      }),
    );
    report(`objects writes/s, ${consistency}, 3 members, 16 writes per section (vs abcast per write)`, 'writes/s', batched.reduce((a, b) => a + b, 0) / (DURATION_MS / 1000), strongRate);
    await close();
  }
}

await lockRoundTrip();
await diffBytes();
await updatesPerSecond();
process.exit(0);
