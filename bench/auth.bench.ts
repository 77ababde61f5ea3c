/**
 * What a group key costs: the same group over the in-process memory transport with and without a
 * key, in the same run; the open group is the baseline.
 *   throughput: abcast (and fbcast) messages/s, every member sending, pipelined with a window,
 *               each message delivered at every member;
 *   latency:    one abcast at a time from member 0, send → delivery at every other member;
 *   join:       how long the last member's join() takes (a keyed joiner also proves it is live
 *               to each member it hears from, freshness.ts);
 *   tag:        one frame's tag alone, per frame size, against a fresh node:crypto HMAC: the
 *               pure-TypeScript HMAC (what browsers run) and the frame tag as Node runs it (the
 *               pure TypeScript for small frames, node:crypto from 512 bytes).
 * Prints `BENCH {"name","unit","value","baseline","ratio"}` lines. Not a test: figures vary by machine.
 */
import { createHmac } from 'node:crypto';
import { createPeer, type Group, type Peer } from '@synod/peer';
import { createHub, memory } from '@synod/transport-memory';
import { FrameAuthenticator } from '../packages/peer/src/auth.js';
import { createFrameMac as pureFrameMac } from '../packages/peer/src/frame-mac.browser.js';
import { report, sentAt, stamp, wallMs } from './lib.js';

const SIZES = { '100b': 100, '1k': 1024, '16k': 16 * 1024 } as const;
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 3);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW = 128;
const KEY = 'a bench secret of some 32 bytes!';
const timing = { heartbeatMs: 100, suspectAfterMs: 5_000, discoveryMs: 30 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function formGroup(key: string | undefined): Promise<{ peers: Peer[]; groups: Group[]; lastJoinMs: number }> {
  const hub = createHub();
  const peers: Peer[] = [];
  const groups: Group[] = [];
  let lastJoinMs = 0;
  for (let i = 0; i < MEMBERS; i++) {
    const peer = await createPeer({ transport: memory({ hub, id: `p${i}` }), trace: false });
    peers.push(peer);
    const start = performance.now();
    groups.push(await peer.join('bench', { ...timing, ...(key === undefined ? {} : { key }) }));
    lastJoinMs = performance.now() - start;
  }
  while (groups.some((g) => g.view?.members.length !== MEMBERS)) await new Promise((r) => setTimeout(r, 5));
  return { peers, groups, lastJoinMs };
}

interface Figures {
  rate: number;
  p50: number;
  joinMs: number;
}

async function run(key: string | undefined, size: number, primitive: 'abcast' | 'fbcast', messages: number): Promise<Figures> {
  const { peers, groups, lastJoinMs } = await formGroup(key);
  const delivered = new Array<number>(MEMBERS).fill(0);
  const latencies: number[] = [];
  let measuring = false;
  let waiter: (() => void) | undefined;
  let target = 0;
  const slowest = () => Math.min(...delivered);
  groups.forEach((group, i) =>
    group.handle<Uint8Array>('B', (message) => {
      delivered[i]!++;
      if (measuring && i !== 0) latencies.push(wallMs() - sentAt(message.data));
      if (waiter && slowest() >= target) waiter();
    }),
  );
  const until = (count: number) =>
    new Promise<void>((resolve) => {
      target = count;
      waiter = resolve;
      if (slowest() >= count) resolve();
    });
  const perMember = Math.floor(messages / MEMBERS);
  const start = performance.now();
  await Promise.all(
    groups.map(async (group) => {
      let inFlight = 0;
      let wake: (() => void) | undefined;
      const done = () => {
        inFlight--;
        wake?.();
      };
      for (let i = 0; i < perMember; i++) {
        inFlight++;
        group[primitive]('B', stamp(size)).then(done, done);
        while (inFlight >= WINDOW) await new Promise<void>((resolve) => (wake = resolve));
      }
      while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
    }),
  );
  await until(perMember * MEMBERS);
  const rate = (perMember * MEMBERS) / ((performance.now() - start) / 1000);
  let p50 = NaN;
  if (primitive === 'abcast') {
    measuring = true;
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const before = slowest();
      await groups[0]!.abcast('B', stamp(size));
      await until(before + 1);
    }
    p50 = median(latencies);
  }
  for (const group of groups) {
    if (group.stats.droppedUnauthenticated !== 0 || group.stats.droppedUnverified !== 0) throw new Error('a bench group dropped frames');
  }
  await Promise.all(peers.map((peer) => peer.close()));
  return { rate, p50, joinMs: lastJoinMs };
}

function tagFigures(size: number): { pure: number; tag: number; node: number } {
  const frame = new Uint8Array(size + 16).fill(7);
  const authenticator = FrameAuthenticator.forGroup(KEY, 'bench');
  const pureMac = pureFrameMac(new Uint8Array(32).fill(1));
  const iterations = Math.max(200, Math.floor(5e7 / (size + 64)));
  const nodeKey = new Uint8Array(32).fill(1);
  const time = (work: () => void) => {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) work();
    return ((performance.now() - start) * 1000) / iterations;
  };
  time(() => authenticator.sign(frame)); // warm up
  const tag = median([0, 1, 2].map(() => time(() => authenticator.sign(frame))));
  const pure = median([0, 1, 2].map(() => time(() => pureMac(frame.subarray(0, size), frame, size, 16))));
  const node = median([0, 1, 2].map(() => time(() => createHmac('sha256', nodeKey).update(frame.subarray(0, size)).digest())));
  return { pure, tag, node };
}

for (const [sizeName, size] of Object.entries(SIZES)) {
  const { pure, tag, node } = tagFigures(size);
  report(`tag.node-crypto.${sizeName}`, 'µs/frame', node, node);
  report(`tag.pure-ts.${sizeName}`, 'µs/frame', pure, node);
  report(`tag.synod-node.${sizeName}`, 'µs/frame', tag, node);
}

for (const [sizeName, size] of Object.entries(SIZES)) {
  const messages = size >= 16 * 1024 ? Math.min(MESSAGES, 3_000) : MESSAGES;
  for (const primitive of ['abcast', 'fbcast'] as const) {
    // Rounds alternate open and keyed so drift (JIT, GC, a busy machine) hits both alike; medians reported.
    const open: Figures[] = [];
    const keyed: Figures[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      open.push(await run(undefined, size, primitive, messages));
      keyed.push(await run(KEY, size, primitive, messages));
    }
    const name = `${primitive}.memory.n${MEMBERS}.${sizeName}`;
    const openRate = median(open.map((f) => f.rate));
    report(`${name}.open`, 'msg/s', openRate, openRate);
    report(`${name}.keyed`, 'msg/s', median(keyed.map((f) => f.rate)), openRate);
    if (primitive === 'abcast') {
      const openP50 = median(open.map((f) => f.p50));
      report(`${name}.open.p50`, 'ms', openP50, openP50);
      report(`${name}.keyed.p50`, 'ms', median(keyed.map((f) => f.p50)), openP50);
    }
    if (sizeName === '100b' && primitive === 'abcast') {
      const openJoin = median(open.map((f) => f.joinMs));
      report(`join.memory.n${MEMBERS}.open`, 'ms', openJoin, openJoin);
      report(`join.memory.n${MEMBERS}.keyed`, 'ms', median(keyed.map((f) => f.joinMs)), openJoin);
    }
  }
}
