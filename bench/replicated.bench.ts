/**
 * Replicated data over the in-process memory transport, beside baselines measured in the same run.
 *   updates:    replicated-map sets/s, 3 members all writing, each update applied at every member
 *               (updates of a turn batched into one abcast); baseline: raw abcasts/s of the same
 *               kind of group (100-byte messages, pipelined with a window of 128).
 *   checkpoint: save (marker → snapshot → stored) and restore (founding from the stored checkpoint)
 *               in MB/s of checkpoint bytes; baseline: JSON.stringify / JSON.parse of the same
 *               entries as a plain object, the hand-written way to save a map.
 * Prints `BENCH {"name","unit","value","baseline","ratio"}` lines. Not a test: figures vary by machine.
 */
import { createPeer, type Group, type Peer } from '@synod/peer';
import { createHub, memory } from '@synod/transport-memory';
import { checkpoint, replicated, type GroupCheckpoint, type ReplicaStorage, type ReplicatedMap } from '../packages/toolkit/src/index.js';
import { report } from './lib.js';

const UPDATES = Number(process.env.BENCH_UPDATES ?? 300_000);
const RAW_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const PER_TURN = 1_000;
const TURNS_IN_FLIGHT = 4;
const CHECKPOINT_ENTRIES = Number(process.env.BENCH_CHECKPOINT_ENTRIES ?? 40_000);
const timing = { heartbeatMs: 100, suspectAfterMs: 5_000, discoveryMs: 30 };

async function formGroup(n: number, setup?: (group: Group, index: number) => void): Promise<{ peers: Peer[]; groups: Group[] }> {
  const hub = createHub();
  const peers: Peer[] = [];
  const groups: Group[] = [];
  for (let i = 0; i < n; i++) {
    const peer = await createPeer({ transport: memory({ hub, id: `p${i}` }), trace: false });
    peers.push(peer);
    groups.push(await peer.join('bench', { ...timing, setup: (group) => setup?.(group, i) }));
  }
  while (groups.some((g) => g.view?.members.length !== n)) await new Promise((r) => setTimeout(r, 10));
  return { peers, groups };
}

async function close(peers: Peer[]): Promise<void> {
  await Promise.all(peers.map((peer) => peer.close({ timeoutMs: 500 })));
}

/** Raw abcasts/s: every member sends, each message delivered at all three. */
async function rawAbcasts(): Promise<number> {
  const { peers, groups } = await formGroup(3);
  let delivered = 0;
  const perMember = new Array<number>(groups.length).fill(0);
  let wake: (() => void) | undefined;
  groups.forEach((group, index) =>
    group.handle('M', () => {
      delivered++;
      perMember[index]!++;
      wake?.();
    }),
  );
  const until = (condition: () => boolean) => new Promise<void>((resolve) => {
    if (condition()) return resolve();
    wake = () => condition() && resolve();
  });
  const payload = new Uint8Array(100);
  const started = performance.now();
  for (let i = 0; i < RAW_MESSAGES; i++) {
    void groups[i % 3]!.abcast('M', payload);
    if (i % 128 === 127) await until(() => perMember[0]! >= i + 1 - 64);
  }
  await until(() => delivered >= RAW_MESSAGES * 3);
  const rate = RAW_MESSAGES / ((performance.now() - started) / 1000);
  await close(peers);
  return rate;
}

/** Replicated-map updates/s: each member sets PER_TURN keys per turn, a few turns in flight. */
async function mapUpdates(): Promise<number> {
  const maps: ReplicatedMap[] = [];
  const { peers } = await formGroup(3, (group, index) => (maps[index] = replicated(group, 'bench', 'map')));
  const value = { callsign: 'AF123', altitude: 350, sector: 'D5' };
  const started = performance.now();
  await Promise.all(
    maps.map(async (map, member) => {
      const inFlight: Promise<void>[] = [];
      for (let sent = 0; sent < UPDATES / 3; sent += PER_TURN) {
        let last!: Promise<void>;
        for (let i = 0; i < PER_TURN; i++) last = map.set(`${member}:${(sent + i) % 5_000}`, value);
        inFlight.push(last);
        if (inFlight.length >= TURNS_IN_FLIGHT) await inFlight.shift();
      }
      await Promise.all(inFlight);
    }),
  );
  while (maps.some((map) => map.version < maps[0]!.version || map.version < UPDATES - (UPDATES % PER_TURN))) await new Promise((r) => setTimeout(r, 1));
  const rate = maps[0]!.version / ((performance.now() - started) / 1000);
  await close(peers);
  return rate;
}

function memoryStorage(): ReplicaStorage {
  const values = new Map<string, Uint8Array>();
  return {
    get: async (key) => values.get(key)?.slice(),
    put: async (key, bytes) => void values.set(key, bytes.slice()),
    delete: async (key) => void values.delete(key),
  };
}

async function checkpoints(): Promise<{ saveMBs: number; restoreMBs: number; jsonSaveMBs: number; jsonParseMBs: number; sizeBytes: number }> {
  const storage = memoryStorage();
  let map!: ReplicatedMap;
  let tool!: GroupCheckpoint;
  const first = await formGroup(1, (group) => {
    map = replicated(group, 'big', 'map');
    tool = checkpoint(group, { storage, parts: [map] });
  });
  const entry = (i: number) => ({ callsign: `FL${i}`, altitude: i % 400, route: 'D5-E6-F7', note: 'x'.repeat(300) });
  for (let i = 0; i < CHECKPOINT_ENTRIES; i += 2_000) {
    const writes: Promise<void>[] = [];
    for (let j = i; j < i + 2_000; j++) writes.push(map.set(`k${j}`, entry(j)));
    await Promise.all(writes);
  }
  let started = performance.now();
  const info = await tool.take();
  const saveMBs = info.sizeBytes / 1e6 / ((performance.now() - started) / 1000);
  await close(first.peers);

  started = performance.now();
  let restoredMap!: ReplicatedMap;
  let restoredTool!: GroupCheckpoint;
  const second = await formGroup(1, (group) => {
    restoredMap = replicated(group, 'big', 'map');
    restoredTool = checkpoint(group, { storage, parts: [restoredMap] });
  });
  const restored = await restoredTool.restored;
  const restoreMBs = info.sizeBytes / 1e6 / ((performance.now() - started) / 1000);
  if (restored?.seq !== 1 || restoredMap.size !== CHECKPOINT_ENTRIES) throw new Error('the checkpoint did not restore');
  await close(second.peers);

  const plain = Object.fromEntries(restoredMap.entries());
  started = performance.now();
  const text = new TextEncoder().encode(JSON.stringify(plain));
  const jsonSaveMBs = text.length / 1e6 / ((performance.now() - started) / 1000);
  started = performance.now();
  JSON.parse(new TextDecoder().decode(text));
  const jsonParseMBs = text.length / 1e6 / ((performance.now() - started) / 1000);
  return { saveMBs, restoreMBs, jsonSaveMBs, jsonParseMBs, sizeBytes: info.sizeBytes };
}

const raw = await rawAbcasts();
const updates = await mapUpdates();
report('replicated map updates/s, 3 members (vs raw abcasts/s)', 'updates/s', updates, raw);
const figures = await checkpoints();
console.log(`# checkpoint of ${CHECKPOINT_ENTRIES} entries, ${(figures.sizeBytes / 1e6).toFixed(1)} MB`);
report('checkpoint save (vs JSON.stringify of the entries)', 'MB/s', figures.saveMBs, figures.jsonSaveMBs);
report('checkpoint restore at founding (vs JSON.parse of the entries)', 'MB/s', figures.restoreMBs, figures.jsonParseMBs);
process.exit(0);
