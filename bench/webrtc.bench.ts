/**
 * WebRTC data channels on loopback, between Node processes (this file is also the worker:
 * `--worker`), through a signaling server this process runs, in one run:
 *   raw.webrtc.rtt.p50 / .p99     round trip of a 64-byte frame between two processes (ping-pong)
 *   raw.webrtc.pair.16k           one process sends 16 KiB frames to another as fast as the
 *                                 channel drains (paced on bufferedAmount); MB/s received
 *   raw.wrtc.…                    the same with @roamhq/wrtc, against node-datachannel as baseline
 *   raw.webrtc.n3.<size>          3 processes, each sends frames to both others; msg/s, a message
 *                                 being one frame to each other process (frames received ÷ 2)
 *   <fbcast|abcast>.webrtc.n3.<size>   the group over the same transport: every member sends a
 *                                 share, a window of sends in flight; msg/s delivered at every
 *                                 member, ratio against raw.webrtc.n3.<size>
 *   <…>.p50                       one message at a time from member 0, send → delivery at the
 *                                 others (wall clock, one machine), against raw one-way latency
 * "Raw" is the WebRTC transport's own send(): data channels and the transport's pacing, no group
 * protocol. Prints `BENCH {"name","unit","value","baseline","ratio"}` lines. Opens sockets: run it
 * in a loopback-only network namespace (bench/run.mjs does). Not a test: figures vary by machine.
 */
import { fileURLToPath } from 'node:url';
import { startSignalingServer } from '@synod/signaling/server';
import { webrtc, type WebRtcTransport } from '@synod/transport-webrtc';
import { GroupWorker, serveCommands, startWorkers, killWorkers, type GroupCommand, type Worker } from './group-worker.js';
import { percentile, report, sentAt, stamp, wallMs } from './lib.js';

const N = 3;
const ALL_SIZES = { '16k': 16 * 1024, '1k': 1024 } as const;
const PRIMITIVES = ['fbcast', 'abcast'] as const;
/** Subsets for a quicker run: BENCH_SIZES=16k, BENCH_IMPLEMENTATIONS=none (skips the raw pair). */
const listed = (name: string, all: readonly string[]) => (process.env[name] ?? all.join(',')).split(',').filter((x) => all.includes(x));
const SIZES = Object.fromEntries(listed('BENCH_SIZES', Object.keys(ALL_SIZES)).map((name) => [name, ALL_SIZES[name as keyof typeof ALL_SIZES]]));
const IMPLEMENTATIONS = listed('BENCH_IMPLEMENTATIONS', ['node-datachannel', '@roamhq/wrtc']);
const PAIR_BYTES = Number(process.env['BENCH_PAIR_MB'] ?? 128) * 1024 * 1024;
const RAW_BYTES = Number(process.env['BENCH_RAW_MB'] ?? 96) * 1024 * 1024;
const GROUP_BYTES = Number(process.env['BENCH_GROUP_MB'] ?? 64) * 1024 * 1024;
const MAX_MESSAGES = Number(process.env['BENCH_MAX_MESSAGES'] ?? 30_000);
const RTT_SAMPLES = Number(process.env['BENCH_RTT_SAMPLES'] ?? 1000);
const LATENCY_SAMPLES = Number(process.env['BENCH_LATENCY_SAMPLES'] ?? 200);
const DEADLINE_MS = Number(process.env['BENCH_DEADLINE_MS'] ?? 300_000);
/** Raw senders wait while this much is buffered towards a peer (the transport queues 2 MiB before it drops). */
const PACE_BYTES = 1024 * 1024;
const WINDOW = 128;
/** The transport's mtuBytes (default: the transport's own). */
const MTU = process.env['BENCH_MTU'] ? { mtuBytes: Number(process.env['BENCH_MTU']) } : {};
const timing = {
  heartbeatMs: 200,
  suspectAfterMs: 10_000,
  discoveryMs: 200,
  // BENCH_FLOW_WINDOW_BYTES: the core's credit window per sender (default: the core's).
  ...(process.env['BENCH_FLOW_WINDOW_BYTES'] ? { flowWindowBytes: Number(process.env['BENCH_FLOW_WINDOW_BYTES']) } : {}),
};

type Command =
  | { cmd: 'open'; signaling: string; room: string; rtc: string; peers: number }
  | { cmd: 'echo' }
  | { cmd: 'ping'; samples: number }
  | { cmd: 'blast'; count: number; size: number; expect: number }
  | { cmd: 'measure' }
  | { cmd: 'one'; size: number }
  | { cmd: 'close' }
  | { cmd: 'join'; signaling: string; room: string; founder: boolean }
  | GroupCommand;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ worker

async function worker(): Promise<void> {
  let transport: WebRtcTransport | undefined;
  let received = 0;
  let receivedBytes = 0;
  let firstReceivedMs = 0;
  let lastReceivedMs = 0;
  let expected = Infinity;
  let onExpected: (() => void) | undefined;
  let measuring = false;
  let latencies: number[] = [];
  const reply = (message: Record<string, unknown>): void => void process.send!(message);
  const members = new GroupWorker(reply, N, WINDOW);

  async function handle(command: Command): Promise<void> {
    switch (command.cmd) {
      case 'open': {
        received = receivedBytes = 0;
        transport = webrtc({ signaling: command.signaling, room: command.room, rtc: command.rtc, maxQueuedBytes: 2 * PACE_BYTES });
        transport.onMessage((_, bytes) => {
          if (received === 0) firstReceivedMs = wallMs();
          received++;
          receivedBytes += bytes.byteLength;
          lastReceivedMs = wallMs();
          if (measuring) {
            latencies.push(lastReceivedMs - sentAt(bytes));
            reply({ event: 'got' });
          }
          if (received >= expected) onExpected?.();
        });
        await transport.start();
        while (transport.peers().length < command.peers) await sleep(10);
        return reply({ implementation: transport.implementation });
      }
      case 'echo':
        transport!.onMessage((from, bytes) => transport!.send(from, bytes));
        return reply({});
      case 'ping': {
        const [other] = transport!.peers();
        const rtts: number[] = [];
        const payload = new Uint8Array(64);
        let back: (() => void) | undefined;
        transport!.onMessage(() => back?.());
        for (let i = 0; i < command.samples; i++) {
          const startMs = performance.now();
          const arrived = new Promise<void>((resolve) => (back = resolve));
          transport!.send(other!, payload);
          await arrived;
          rtts.push(performance.now() - startMs);
        }
        return reply({ rtts });
      }
      case 'blast': {
        received = receivedBytes = 0;
        const done =
          command.expect > 0
            ? new Promise<void>((resolve) => {
                expected = command.expect;
                onExpected = resolve;
              })
            : Promise.resolve();
        const startMs = wallMs();
        const payload = new Uint8Array(command.size);
        const others = transport!.peers();
        for (let i = 0; i < command.count; i++) {
          for (const other of others) {
            while (transport!.bufferedBytes(other) > PACE_BYTES) await sleep(1);
            transport!.send(other, payload);
          }
          if (i % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
        }
        await Promise.race([done, sleep(60_000)]);
        expected = Infinity;
        const { droppedBackpressure, droppedUnreachable } = transport!.stats;
        return reply({ startMs, firstReceivedMs, lastReceivedMs, received, receivedBytes, dropped: droppedBackpressure + droppedUnreachable });
      }
      case 'measure':
        measuring = members.measuring = true;
        latencies = [];
        return reply({});
      case 'one':
        for (const other of transport!.peers()) transport!.send(other, stamp(command.size));
        return reply({});
      case 'close': {
        await transport?.close();
        transport = undefined;
        measuring = false;
        return reply({ latencies: latencies.splice(0) });
      }
      case 'join': {
        const member = await members.join(webrtc({ signaling: command.signaling, room: command.room, ...MTU }), timing);
        while (command.founder && members.group!.view!.members.length < 1) await sleep(10);
        return reply({ member });
      }
      default:
        if (!(await members.handle(command))) throw new Error(`unknown command ${JSON.stringify(command)}`);
    }
  }

  serveCommands(handle, () => Promise.all([transport?.close(), members.peer?.close({ leave: false })]));
}

// ------------------------------------------------------------------ orchestrator

async function orchestrate(): Promise<void> {
  const server = await startSignalingServer({ port: 0, host: '127.0.0.1', messagesPerSecond: 1000, burst: 1000 });
  const workers = startWorkers<Command>(fileURLToPath(import.meta.url), N, 'webrtc.bench', DEADLINE_MS);
  const some = <T>(chosen: Worker<Command>[], command: (i: number) => Command) => Promise.all(chosen.map((w, i) => w.request(command(i)) as Promise<T>));
  const all = <T>(command: (i: number) => Command) => some<T>(workers, command);
  const pair = workers.slice(0, 2);
  let rooms = 0;
  const progress = (what: string) => process.stderr.write(`# webrtc.bench: ${what}\n`);
  try {
    // Raw, between two processes, with each Node implementation.
    const baseline: Record<string, number> = {};
    for (const rtc of IMPLEMENTATIONS) {
      const label = rtc === 'node-datachannel' ? 'webrtc' : 'wrtc';
      progress(`raw pair over ${rtc}`);
      const room = `raw-${rooms++}`;
      await some(pair, () => ({ cmd: 'open', signaling: server.url, room, rtc, peers: 1 }));
      await pair[1]!.request({ cmd: 'echo' });
      const { rtts } = await pair[0]!.request({ cmd: 'ping', samples: RTT_SAMPLES });
      rtts.sort((a: number, b: number) => a - b);
      const count = Math.floor(PAIR_BYTES / ALL_SIZES['16k']);
      const [sent, got] = await Promise.all([
        pair[0]!.request({ cmd: 'blast', count, size: ALL_SIZES['16k'], expect: 0 }),
        pair[1]!.request({ cmd: 'blast', count: 0, size: 0, expect: count }),
      ]);
      const megabytesPerSecond = got.receivedBytes / 1e6 / ((got.lastReceivedMs - sent.startMs) / 1000);
      for (const [name, unit, value] of [
        ['rtt.p50', 'ms', percentile(rtts, 50)],
        ['rtt.p99', 'ms', percentile(rtts, 99)],
        ['pair.16k', 'MB/s', megabytesPerSecond],
      ] as const) {
        baseline[name] ??= value;
        report(`raw.${label}.${name}`, unit, value, baseline[name]!);
      }
      if (got.received < count) console.log(`# raw.${label}.pair.16k: ${got.received} of ${count} frames arrived (${sent.dropped} dropped at the sender)`);
      await some(pair, () => ({ cmd: 'close' }));
    }

    for (const [sizeName, size] of Object.entries(SIZES)) {
      // Raw across three processes: each to both others, paced on bufferedAmount.
      progress(`raw n3 ${sizeName}`);
      const room = `raw-${rooms++}`;
      await all(() => ({ cmd: 'open', signaling: server.url, room, rtc: 'node-datachannel', peers: N - 1 }));
      const perSender = Math.min(MAX_MESSAGES, Math.floor(RAW_BYTES / size / N / (N - 1)));
      const blasts = await all<{ startMs: number; lastReceivedMs: number; received: number; dropped: number }>(() => ({
        cmd: 'blast',
        count: perSender,
        size,
        expect: perSender * (N - 1),
      }));
      const seconds = (Math.max(...blasts.map((b) => b.lastReceivedMs)) - Math.min(...blasts.map((b) => b.startMs))) / 1000;
      const receivedFrames = blasts.reduce((sum, b) => sum + b.received, 0);
      const rawRate = receivedFrames / (N - 1) / seconds;
      report(`raw.webrtc.n3.${sizeName}`, 'msg/s', rawRate, rawRate);
      console.log(`# raw.webrtc.n3.${sizeName}: ${((receivedFrames * size) / 1e6 / seconds).toFixed(1)} MB/s received in all, ${blasts.reduce((s, b) => s + b.dropped, 0)} frames dropped`);
      for (const w of workers) w.events.length = 0;
      await all(() => ({ cmd: 'measure' }));
      for (let i = 0; i < LATENCY_SAMPLES; i++) {
        await workers[0]!.request({ cmd: 'one', size });
        await Promise.all(workers.slice(1).map((w) => w.waitEvents(i + 1)));
      }
      const rawLatencies = (await all<{ latencies: number[] }>(() => ({ cmd: 'close' }))).flatMap((r) => r.latencies).sort((a, b) => a - b);
      const rawP50 = percentile(rawLatencies, 50);
      report(`raw.webrtc.n3.${sizeName}.p50`, 'ms', rawP50, rawP50);

      for (const primitive of PRIMITIVES) {
        const name = `${primitive}.webrtc.n3.${sizeName}`;
        progress(`${name}: forming the group`);
        const groupRoom = `group-${rooms++}`;
        await workers[0]!.request({ cmd: 'join', signaling: server.url, room: groupRoom, founder: true });
        await Promise.all(workers.slice(1).map((w) => w.request({ cmd: 'join', signaling: server.url, room: groupRoom, founder: false })));
        progress(`${name}: throughput`);
        const share = Math.min(MAX_MESSAGES, Math.floor(GROUP_BYTES / size / N));
        const casts = await all<{ startMs: number; endMs: number; stats: Record<string, number> }>(() => ({
          cmd: 'cast',
          primitive,
          count: share,
          size,
          total: share * N,
        }));
        const castSeconds = (Math.max(...casts.map((c) => c.endMs)) - Math.min(...casts.map((c) => c.startMs))) / 1000;
        report(name, 'msg/s', (share * N) / castSeconds, rawRate);
        const frames = casts.reduce((sum, c) => sum + c.stats['framesSent']!, 0);
        const dropped = casts.reduce((sum, c) => sum + c.stats['droppedBackpressure']!, 0);
        const sum = (key: string) => casts.reduce((total, c) => total + (c.stats[key] ?? 0), 0);
        console.log(`# ${name}: ${(frames / (share * N)).toFixed(2)} frames sent per message, ${dropped} dropped for backpressure, ${sum("retransmitsSent")} retransmitted, ${sum("naksSent")} naks`);
        progress(`${name}: latency`);
        for (const w of workers) w.events.length = 0;
        await all(() => ({ cmd: 'measure' }));
        for (let i = 0; i < LATENCY_SAMPLES; i++) {
          await workers[0]!.request({ cmd: 'cast-one', primitive, size });
          await Promise.all(workers.slice(1).map((w) => w.waitEvents(i + 1)));
        }
        const latencies = (await all<{ latencies: number[] }>(() => ({ cmd: 'latencies' }))).flatMap((r) => r.latencies).sort((a, b) => a - b);
        report(`${name}.p50`, 'ms', percentile(latencies, 50), rawP50);
        await all(() => ({ cmd: 'leave' }));
        if (sizeName === '16k') {
          const ratio = (share * N) / castSeconds / rawRate;
          console.log(`# goal (issue 3): the group layer costs at most 15% of raw WebRTC throughput with 16 KiB messages: ${name} at ${(100 * ratio).toFixed(1)}% of raw — ${ratio >= 0.85 ? 'met' : 'not met'}`);
        }
      }
    }
  } finally {
    for (const w of workers) w.child.disconnect?.();
    await sleep(500);
    killWorkers(workers);
    await server.close();
  }
}

if (process.argv.includes('--worker')) await worker();
else await orchestrate();
