/**
 * Group multicast over the in-process memory transport, beside the raw transport in the same run.
 *   throughput: messages/s, each message delivered at every member (raw: each datagram received
 *               by every other peer), senders all members, pipelined with a window;
 *   latency:    one message at a time from member 0, send → delivery at every other member.
 * Each figure is steady-state: every raw and group run is preceded by an unmeasured run of the same
 * kind and size (BENCH_WARMUP_MESSAGES, default a quarter of BENCH_MESSAGES, 0 to skip), so the
 * first configuration measured does not pay the JIT's warm-up and the others' GC debt alone; and
 * each figure is the median of BENCH_REPEATS rounds (default 3) of raw and every primitive, whose
 * single runs a `#` line lists.
 * Prints `BENCH {"name","unit","value","baseline","ratio"}` lines. Not a test: figures vary by machine.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { createPeer, type Group, type Peer } from '@synod/peer';
import { createHub, memory } from '@synod/transport-memory';
import { percentile, report, sentAt, stamp, wallMs } from './lib.js';

const ALL_SIZES = { '100b': 100, '1k': 1024 } as const;
/** BENCH_SIZES=1k (a comma-separated subset) for a quicker run. */
const SIZES = Object.fromEntries(
  Object.entries(ALL_SIZES).filter(([name]) => (process.env.BENCH_SIZES ?? name).split(',').includes(name)),
);
const ALL_PRIMITIVES = ['fbcast', 'cbcast', 'abcast', 'safe'] as const;
const PRIMITIVES = ALL_PRIMITIVES.filter((p) => (process.env.BENCH_PRIMITIVES ?? p).split(',').includes(p));
const MEMBER_COUNTS = (process.env.BENCH_MEMBERS ?? '3,5').split(',').map(Number);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);
const WARMUP_MESSAGES = Number(process.env.BENCH_WARMUP_MESSAGES ?? Math.floor(MESSAGES / 4));
const WINDOW = 128;
/** Rounds per configuration; each figure is the median of its rounds. */
const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 3));
const timing = { heartbeatMs: 100, suspectAfterMs: 5_000, discoveryMs: 30 };

interface Figures {
  rate: number;
  p50: number;
  p99: number;
  /** Major collections (mark-compacts) during the throughput phase: runs with none are the fast ones (README). */
  majorGcs: number;
}

/** Mark-compacts so far; a run's count is the difference across it. */
let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
}).observe({ entryTypes: ['gc'] });

async function raw(n: number, size: number, messages = MESSAGES, latencySamples = LATENCY_SAMPLES): Promise<Figures> {
  const hub = createHub();
  const transports = Array.from({ length: n }, (_, i) => memory({ hub, id: `raw${i}` }));
  await Promise.all(transports.map((t) => t.start()));
  let received = 0;
  let waiter: (() => void) | undefined;
  let target = 0;
  const latencies: number[] = [];
  let measuring = false;
  for (const t of transports) {
    t.onMessage((_from, bytes) => {
      received++;
      if (measuring) latencies.push(wallMs() - sentAt(bytes));
      if (received >= target && waiter) waiter();
    });
  }
  const until = (count: number) => new Promise<void>((resolve) => {
    target = count;
    waiter = resolve;
    if (received >= count) resolve();
  });
  const multicast = (sender: number) => {
    const bytes = stamp(size);
    transports.forEach((t, i) => i !== sender && transports[sender]!.send(t.localId, bytes));
  };
  const gcsBefore = majorGcs;
  const start = performance.now();
  for (let i = 0; i < messages; i++) {
    multicast(i % n);
    if (i % WINDOW === WINDOW - 1) await until((i + 1 - WINDOW / 2) * (n - 1));
  }
  await until(messages * (n - 1));
  const rate = messages / ((performance.now() - start) / 1000);
  const runGcs = majorGcs - gcsBefore;
  measuring = true;
  for (let i = 0; i < latencySamples; i++) {
    const before = received;
    multicast(0);
    await until(before + n - 1);
  }
  latencies.sort((a, b) => a - b);
  await Promise.all(transports.map((t) => t.close()));
  return { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99), majorGcs: runGcs };
}

async function formGroup(n: number): Promise<{ peers: Peer[]; groups: Group[] }> {
  const hub = createHub();
  const peers: Peer[] = [];
  const groups: Group[] = [];
  for (let i = 0; i < n; i++) {
    const peer = await createPeer({ transport: memory({ hub, id: `p${i}` }) });
    peers.push(peer);
    groups.push(await peer.join('bench', timing));
  }
  while (groups.some((g) => g.view?.members.length !== n)) await new Promise((r) => setTimeout(r, 10));
  return { peers, groups };
}

async function grouped(
  n: number,
  size: number,
  primitive: (typeof ALL_PRIMITIVES)[number],
  messages = MESSAGES,
  latencySamples = LATENCY_SAMPLES,
): Promise<Figures> {
  const { peers, groups } = await formGroup(n);
  const delivered = new Array<number>(n).fill(0);
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
  const until = (count: number) => new Promise<void>((resolve) => {
    target = count;
    waiter = resolve;
    if (slowest() >= count) resolve();
  });
  const gcsBefore = majorGcs;
  const start = performance.now();
  await Promise.all(
    groups.map(async (group) => {
      // A window of sends in flight; a counter, not Promise.race over the window (O(window) each).
      let inFlight = 0;
      let wake: (() => void) | undefined;
      const done = () => {
        inFlight--;
        wake?.();
      };
      for (let i = 0; i < messages / n; i++) {
        inFlight++;
        group[primitive]('B', stamp(size)).then(done, done);
        while (inFlight >= WINDOW) await new Promise<void>((resolve) => (wake = resolve));
      }
      while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
    }),
  );
  await until(Math.floor(messages / n) * n);
  const rate = (Math.floor(messages / n) * n) / ((performance.now() - start) / 1000);
  const runGcs = majorGcs - gcsBefore;
  measuring = true;
  for (let i = 0; i < latencySamples; i++) {
    const before = slowest();
    await groups[0]![primitive]('B', stamp(size));
    await until(before + 1);
  }
  latencies.sort((a, b) => a - b);
  await Promise.all(peers.map((peer) => peer.close()));
  return { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99), majorGcs: runGcs };
}

/** The median of an odd or even list (the lower middle of an even one). */
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

for (const n of MEMBER_COUNTS) {
  for (const [sizeName, size] of Object.entries(SIZES)) {
    // REPEATS rounds of raw then every primitive, each run warmed up: one run's figures swing with
    // the collector and the JIT, so each figure is the median of its runs (rates and latencies),
    // against the median raw run.
    const raws: Figures[] = [];
    const groups = new Map<string, Figures[]>(PRIMITIVES.map((primitive) => [primitive, []]));
    for (let round = 0; round < REPEATS; round++) {
      if (WARMUP_MESSAGES > 0) await raw(n, size, WARMUP_MESSAGES, 20);
      raws.push(await raw(n, size));
      for (const primitive of PRIMITIVES) {
        if (WARMUP_MESSAGES > 0) await grouped(n, size, primitive, WARMUP_MESSAGES, 20);
        groups.get(primitive)!.push(await grouped(n, size, primitive));
      }
    }
    const medianOf = (runs: Figures[]): Figures => ({
      rate: median(runs.map((run) => run.rate)),
      p50: median(runs.map((run) => run.p50)),
      p99: median(runs.map((run) => run.p99)),
      majorGcs: median(runs.map((run) => run.majorGcs)),
    });
    const baseline = medianOf(raws);
    const rawName = `raw.memory.n${n}.${sizeName}`;
    report(rawName, 'msg/s', baseline.rate, baseline.rate);
    report(`${rawName}.p50`, 'ms', baseline.p50, baseline.p50);
    report(`${rawName}.p99`, 'ms', baseline.p99, baseline.p99);
    for (const primitive of PRIMITIVES) {
      const runs = groups.get(primitive)!;
      const figures = medianOf(runs);
      const name = `${primitive}.memory.n${n}.${sizeName}`;
      // Each run's rate, beside the raw run of its round; [g]: the run's major collections (raw's, then its own).
      console.log(`# ${name}: ${runs.map((run, i) => `${Math.round(run.rate)} (raw ${Math.round(raws[i]!.rate)}) [${raws[i]!.majorGcs}, ${run.majorGcs} major GCs]`).join(', ')}`);
      report(name, 'msg/s', figures.rate, baseline.rate);
      report(`${name}.p50`, 'ms', figures.p50, baseline.p50);
      report(`${name}.p99`, 'ms', figures.p99, baseline.p99);
    }
  }
}
