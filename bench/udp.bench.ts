/**
 * UDP on loopback, across 3 Node processes (this file is also the worker: `--worker`), in one run:
 *   raw.udp.rtt                   round trip of one datagram between two processes, p50 / p99
 *   raw.udp.n3.<size>             raw dgram: every process sends its share to both others, one
 *                                 message per datagram, with a credit window per receiver (acks
 *                                 every 32) so that it measures what arrives, not what the kernel
 *                                 drops; msg/s, a message being one datagram to each other process
 *   raw.udp.dgram.<size>          the same run in datagrams received per second
 *   raw.udp.n3.<size>.bundled     the same, messages packed into 8 KiB datagrams (the transport's
 *                                 MTU), as the UDP transport's bundler does
 *   <fbcast|abcast>.udp.n3.<size> the group over the UDP transport: every member sends a share with
 *                                 a window of sends in flight; msg/s delivered at every member,
 *                                 ratio against raw.udp.n3.<size> (and .vs-bundled against the bundled raw)
 *   <…>.p50 / .p99                latency: one message at a time from member 0, send → delivery at
 *                                 the others (wall clock, one machine), against raw one-way latency
 * Prints `BENCH {"name","unit","value","baseline","ratio"}` lines and `#` notes. Opens sockets:
 * run it in a loopback-only network namespace (bench/run.mjs does). Not a test: figures vary by
 * machine, and on a 2-core machine 3 busy processes share 2 cores.
 */
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { udp } from '@synod/transport-udp';
import { GroupWorker, serveCommands, startWorkers, killWorkers, type GroupCommand, type Worker } from './group-worker.js';
import { percentile, report, sentAt, stamp, wallMs } from './lib.js';

const N = 3;
const SIZES = { '100b': 100, '1k': 1024 } as const;
const PRIMITIVES = ['fbcast', 'abcast'] as const;
const RAW_MESSAGES = Number(process.env['BENCH_RAW_MESSAGES'] ?? 60_000);
const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 30_000);
const LATENCY_SAMPLES = Number(process.env['BENCH_LATENCY_SAMPLES'] ?? 300);
const WINDOW = 128;
/** Raw baseline: datagram kinds, credit window (messages per receiver) and ack period. */
const SINGLE = 0xda;
const BUNDLE = 0xdb;
const ACK = 0xac;
const RAW_WINDOW = 512;
const ACK_EVERY = 32;
const DEADLINE_MS = Number(process.env['BENCH_DEADLINE_MS'] ?? 300_000);
const timing = { heartbeatMs: 200, suspectAfterMs: 10_000, discoveryMs: 200 };

type Command =
  | { cmd: 'raw-open' }
  | { cmd: 'raw-blast'; ports: number[]; count: number; size: number; bundled: boolean }
  | { cmd: 'raw-echo' }
  | { cmd: 'raw-ping'; port: number; samples: number }
  | { cmd: 'raw-one'; ports: number[]; size: number }
  | { cmd: 'raw-close' }
  | { cmd: 'measure' }
  | { cmd: 'join'; peers: string[] }
  | GroupCommand;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */

// ------------------------------------------------------------------ worker

async function worker(): Promise<void> {
  let socket: dgram.Socket | undefined;
  let received = 0;
  let lastReceivedMs = 0;
  let latencies: number[] = [];
  let measuring = false;
  const acked = new Map<number, number>();
  const receivedFrom = new Map<number, number>();
  let ackWaiter: (() => void) | undefined;
  const reply = (message: Record<string, unknown>): void => void process.send!(message);
  const members = new GroupWorker(reply, N, WINDOW);

  async function handle(command: Command): Promise<void> {
    switch (command.cmd) {
      case 'raw-open': {
        received = 0;
        acked.clear();
        receivedFrom.clear();
        socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
        await new Promise<void>((resolve) => socket!.bind(0, '127.0.0.1', resolve));
        socket.on('message', (bytes, remote) => {
          if (bytes[0] === ACK) {
            acked.set(remote.port, Math.max(acked.get(remote.port) ?? 0, bytes.readUInt32BE(1)));
            ackWaiter?.();
            return;
          }
          const messages = bytes[0] === BUNDLE ? bytes.readUInt16BE(1) : 1;
          received += messages;
          lastReceivedMs = wallMs();
          const from = (receivedFrom.get(remote.port) ?? 0) + messages;
          receivedFrom.set(remote.port, from);
          // Cumulative acks, every ACK_EVERY messages from a sender: the raw sender's credit window.
          if (Math.floor(from / ACK_EVERY) !== Math.floor((from - messages) / ACK_EVERY)) {
            const ack = Buffer.alloc(5);
            ack[0] = ACK;
            ack.writeUInt32BE(from, 1);
            socket!.send(ack, remote.port, '127.0.0.1');
          }
          if (measuring) {
            latencies.push(lastReceivedMs - sentAt(bytes.subarray(1)));
            reply({ event: 'raw-got' });
          }
        });
        return reply({ port: socket.address().port });
      }
      case 'raw-blast': {
        const startMs = wallMs();
        // One message per datagram, or as many as fit in an 8 KiB datagram (the transport's MTU).
        const perDatagram = command.bundled ? Math.max(1, Math.floor(8192 / command.size)) : 1;
        const datagram = Buffer.alloc(command.bundled ? 3 + perDatagram * command.size : 1 + command.size);
        datagram[0] = command.bundled ? BUNDLE : SINGLE;
        if (command.bundled) datagram.writeUInt16BE(perDatagram, 1);
        const sentTo = new Map(command.ports.map((port) => [port, 0]));
        for (let i = 0; i < command.count; i += perDatagram) {
          for (const port of command.ports) {
            // A credit window per receiver, so the baseline measures what arrives, not what the
            // kernel drops; a lost datagram or ack only costs a short stall.
            const deadline = performance.now() + 20;
            while (sentTo.get(port)! - (acked.get(port) ?? 0) >= RAW_WINDOW && performance.now() < deadline) {
              await new Promise<void>((resolve) => {
                ackWaiter = resolve;
                setTimeout(resolve, 5);
              });
            }
            socket!.send(datagram, port, '127.0.0.1');
            sentTo.set(port, sentTo.get(port)! + perDatagram);
          }
          if ((i / perDatagram) % 32 === 31) await new Promise((resolve) => setImmediate(resolve));
        }
        // Quiescence: nothing received for 300 ms.
        let before = -1;
        while (before !== received) {
          before = received;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        const sent = [...sentTo.values()].reduce((sum, count) => sum + count, 0);
        return reply({ startMs, lastReceivedMs, received, sent });
      }
      case 'raw-echo':
        socket!.removeAllListeners('message');
        socket!.on('message', (bytes, remote) => socket!.send(bytes, remote.port, remote.address));
        return reply({});
      case 'raw-ping': {
        const rtts: number[] = [];
        const payload = Buffer.alloc(64);
        socket!.removeAllListeners('message');
        for (let i = 0; i < command.samples; i++) {
          const startMs = performance.now();
          const back = new Promise((resolve) => socket!.once('message', resolve));
          socket!.send(payload, command.port, '127.0.0.1');
          await back;
          rtts.push(performance.now() - startMs);
        }
        return reply({ rtts });
      }
      case 'measure':
        measuring = members.measuring = true;
        latencies = [];
        return reply({});
      case 'raw-one': {
        for (const port of command.ports) socket!.send(Buffer.concat([Buffer.of(SINGLE), stamp(command.size)]), port, '127.0.0.1');
        return reply({});
      }
      case 'raw-close':
        socket?.close();
        socket = undefined;
        measuring = false;
        return reply({ latencies: latencies.splice(0) });
      case 'join': {
        const port = Number(command.peers[Number(process.env['BENCH_INDEX'])]!.split(':').at(-1));
        return reply({ member: await members.join(udp({ port, peers: command.peers }), timing) });
      }
      default:
        if (!(await members.handle(command))) throw new Error(`unknown command ${JSON.stringify(command)}`);
    }
  }

  serveCommands(handle);
}

// ------------------------------------------------------------------ orchestrator

async function freePort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

async function orchestrate(): Promise<void> {
  const workers = startWorkers<Command>(fileURLToPath(import.meta.url), N, 'udp.bench', DEADLINE_MS);
  const all = <T>(command: (i: number) => Command) => Promise.all(workers.map((w, i) => w.request(command(i)) as Promise<T>));
  try {
    // Raw round trip between two processes.
    const [portA, portB] = (await all<{ port: number }>(() => ({ cmd: 'raw-open' }))).map((r) => r.port);
    await workers[1]!.request({ cmd: 'raw-echo' });
    const { rtts } = await workers[0]!.request({ cmd: 'raw-ping', port: portB!, samples: 2000 });
    rtts.sort((a: number, b: number) => a - b);
    const rtt = { p50: percentile(rtts, 50), p99: percentile(rtts, 99) };
    report('raw.udp.rtt.p50', 'ms', rtt.p50, rtt.p50);
    report('raw.udp.rtt.p99', 'ms', rtt.p99, rtt.p99);
    await all(() => ({ cmd: 'raw-close' }));
    void portA;

    for (const [sizeName, size] of Object.entries(SIZES)) {
      // Raw dgram throughput: every process to both others, one message per datagram, then
      // bundled into 8 KiB datagrams; a credit window per receiver keeps losses out of it.
      const perSender = Math.floor(RAW_MESSAGES / N);
      const rawRun = async (bundled: boolean) => {
        // Fresh sockets (and counters) for each run.
        const ports = (await all<{ port: number }>(() => ({ cmd: 'raw-open' }))).map((r) => r.port);
        const blasts = await all<{ startMs: number; lastReceivedMs: number; received: number; sent: number }>((i) => ({
          cmd: 'raw-blast',
          ports: ports.filter((_, j) => j !== i),
          count: perSender,
          size,
          bundled,
        }));
        const seconds = (Math.max(...blasts.map((b) => b.lastReceivedMs)) - Math.min(...blasts.map((b) => b.startMs))) / 1000;
        const receivedMessages = blasts.reduce((sum, b) => sum + b.received, 0);
        const sentMessages = blasts.reduce((sum, b) => sum + b.sent, 0);
        await all(() => ({ cmd: 'raw-close' }));
        return { rate: receivedMessages / (N - 1) / seconds, perSecond: receivedMessages / seconds, lost: 1 - receivedMessages / sentMessages };
      };
      const single = await rawRun(false);
      const rawRate = single.rate;
      const receivedDatagramsPerSecond = single.perSecond;
      report(`raw.udp.n3.${sizeName}`, 'msg/s', rawRate, rawRate);
      report(`raw.udp.dgram.${sizeName}`, 'dgram/s', single.perSecond, single.perSecond);
      console.log(`# raw.udp.n3.${sizeName}: ${(100 * single.lost).toFixed(2)}% lost`);
      const bundledRaw = await rawRun(true);
      report(`raw.udp.n3.${sizeName}.bundled`, 'msg/s', bundledRaw.rate, bundledRaw.rate);
      console.log(`# raw.udp.n3.${sizeName}.bundled: ${(100 * bundledRaw.lost).toFixed(2)}% lost`);
      const ports = (await all<{ port: number }>(() => ({ cmd: 'raw-open' }))).map((r) => r.port);
      // Raw one-way latency, one datagram at a time from process 0.
      for (const w of workers) w.events.length = 0;
      await all(() => ({ cmd: 'measure' }));
      for (let i = 0; i < LATENCY_SAMPLES; i++) {
        await workers[0]!.request({ cmd: 'raw-one', ports: ports.slice(1), size });
        await Promise.all(workers.slice(1).map((w) => w.waitEvents(i + 1)));
      }
      const rawLatencies = (await all<{ latencies: number[] }>(() => ({ cmd: 'raw-close' }))).flatMap((r) => r.latencies).sort((a, b) => a - b);
      const rawLatency = { p50: percentile(rawLatencies, 50), p99: percentile(rawLatencies, 99) };
      report(`raw.udp.n3.${sizeName}.p50`, 'ms', rawLatency.p50, rawLatency.p50);
      report(`raw.udp.n3.${sizeName}.p99`, 'ms', rawLatency.p99, rawLatency.p99);

      for (const primitive of PRIMITIVES) {
        // A fresh group each time: the founder first, so the others find it rather than race.
        const progress = (what: string) => process.stderr.write(`# ${primitive}.udp.n3.${sizeName}: ${what}\n`);
        progress('forming the group');
        const peerPorts = [await freePort(), await freePort(), await freePort()];
        const peers = peerPorts.map((port) => `udp:127.0.0.1:${port}`);
        await workers[0]!.request({ cmd: 'join', peers });
        await Promise.all(workers.slice(1).map((w) => w.request({ cmd: 'join', peers })));
        progress('throughput');
        const share = Math.floor(MESSAGES / N);
        const casts = await all<{ startMs: number; endMs: number; stats: Record<string, number> }>(() => ({ cmd: 'cast', primitive, count: share, size, total: share * N }));
        progress(`per member ${casts.map((c) => JSON.stringify(c.stats)).join(' ')}`);
        const castSeconds = (Math.max(...casts.map((c) => c.endMs)) - Math.min(...casts.map((c) => c.startMs))) / 1000;
        const name = `${primitive}.udp.n3.${sizeName}`;
        report(name, 'msg/s', (share * N) / castSeconds, rawRate);
        report(`${name}.vs-bundled`, 'msg/s', (share * N) / castSeconds, bundledRaw.rate);
        progress('latency');
        for (const w of workers) w.events.length = 0;
        await all(() => ({ cmd: 'measure' }));
        for (let i = 0; i < LATENCY_SAMPLES; i++) {
          await workers[0]!.request({ cmd: 'cast-one', primitive, size });
          await Promise.all(workers.slice(1).map((w) => w.waitEvents(i + 1)));
        }
        const latencies = (await all<{ latencies: number[] }>(() => ({ cmd: 'latencies' }))).flatMap((r) => r.latencies).sort((a, b) => a - b);
        report(`${name}.p50`, 'ms', percentile(latencies, 50), rawLatency.p50);
        report(`${name}.p99`, 'ms', percentile(latencies, 99), rawLatency.p99);
        await all(() => ({ cmd: 'leave' }));
        if (primitive === 'abcast') {
          const goal = rawRate / 2;
          console.log(
            `# goal (issue 3): abcast over UDP across 3 processes ≥ half of raw dgram throughput ÷ 2 ` +
              `(raw ${Math.round(receivedDatagramsPerSecond)} dgram/s ÷ 2 = ${Math.round(rawRate)} msg/s, half of it ${Math.round(goal)}): ` +
              `${Math.round((share * N) / castSeconds)} msg/s — ${(share * N) / castSeconds >= goal ? 'met' : 'not met'}`,
          );
        }
      }
    }
  } finally {
    for (const w of workers) w.child.disconnect?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
    killWorkers(workers);
  }
}

if (process.argv.includes('--worker')) await worker();
else await orchestrate();
