/**
 * Between a headless Chromium page (native RTCPeerConnection) and a Node process (node-datachannel),
 * over WebRTC on loopback, through a signaling server this process runs; both sides are the same
 * code (browser/side.ts) on the `synod` package. In one run, each direction:
 *   raw.webrtc.browser-node.rtt.p50 / .p99   round trip of a 64-byte frame (Node pings, the page echoes)
 *   raw.webrtc.<from>-to-<to>.16k            16 KiB frames as fast as the channel drains (paced on
 *                                            bufferedAmount), MB/s received
 *   <fbcast|abcast>.webrtc.<from>-to-<to>.16k   a group of the two sides, 16 KiB messages from one
 *                                            side, msg/s delivered at the other, ratio against the
 *                                            raw frames/s of the same direction
 * Prints `BENCH {"name","unit","value","baseline","ratio"}` lines. Chromium is Debian's
 * (/usr/bin/chromium, CHROMIUM_PATH); without it the bench says so and exits 0. Opens sockets: run
 * it in a loopback-only network namespace (bench/run.mjs does). Not a test: figures vary by machine.
 *
 * Measured on the 2-core CI machine: Chromium's data channels themselves are the bottleneck here,
 * 3–7 MB/s of 16 KiB frames browser↔Node and about 3 MB/s between two pages of the same Chromium
 * (against ~70 MB/s Node↔Node with node-datachannel), with a p99 round trip near 17 ms; so the
 * group's ratios below are against that slow raw path.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { CHROMIUM, bundlePage, launchChromium, servePage } from '../e2e/chromium.js';
import { startSignalingServer } from '@synod/signaling/server';
import { createSide, type Primitive, type Side } from './browser/side.js';
import { percentile, report } from './lib.js';

const SIZE = 16 * 1024;
const RAW_FRAMES = Math.floor((Number(process.env['BENCH_RAW_MB'] ?? 16) * 1024 * 1024) / SIZE);
const GROUP_MESSAGES = Number(process.env['BENCH_GROUP_MESSAGES'] ?? 1000);
const RTT_SAMPLES = Number(process.env['BENCH_RTT_SAMPLES'] ?? 1000);
const WINDOW = 128;
const DEADLINE_MS = Number(process.env['BENCH_DEADLINE_MS'] ?? 180_000);
/** Beside the e2e suites' flags: a page measured in the background must not be throttled. */
const UNTHROTTLED = ['--disable-background-timer-throttling', '--disable-renderer-backgrounding'];

/** The page's Side, called through page.evaluate (each call one CDP round trip, none in a hot loop). */
function pageSide(page: Page): Side {
  const call =
    (method: keyof Side) =>
    (...args: unknown[]): Promise<any> =>
      page.evaluate(({ method, args }) => ((globalThis as any).benchSide[method] as (...a: unknown[]) => unknown)(...args), { method, args });
  return new Proxy({} as Side, { get: (_, method) => call(method as keyof Side) });
}

if (!existsSync(CHROMIUM)) {
  console.log(`# webrtc-browser.bench: no ${CHROMIUM}; skipped (CHROMIUM_PATH names another)`);
  process.exit(0);
}
const deadline = setTimeout(() => {
  console.error(`webrtc-browser.bench: not done after ${DEADLINE_MS} ms; stopping`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();
const progress = (what: string) => process.stderr.write(`# webrtc-browser.bench: ${what}\n`);

const { server: http, url: pageUrl } = await servePage(await bundlePage(fileURLToPath(new URL('./browser/page.ts', import.meta.url))));
const origin = pageUrl.slice(0, -1);
const server = await startSignalingServer({ port: 0, host: '127.0.0.1', messagesPerSecond: 1000, burst: 1000 });
const browser = await launchChromium(UNTHROTTLED);
try {
  const context = await browser.newContext();
  // Without camera/microphone permission Chromium hides host candidates behind mDNS names.
  await context.grantPermissions(['camera', 'microphone'], { origin });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page:', error));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.title === 'bench-ready', undefined, { timeout: 10_000 });
  const sides = { browser: pageSide(page), node: createSide() };
  let rooms = 0;

  progress('raw');
  const rawRoom = `raw-${rooms++}`;
  await Promise.all([sides.node.openRaw(server.url, rawRoom), sides.browser.openRaw(server.url, rawRoom)]);
  await sides.browser.echo();
  const rtts = (await sides.node.ping(RTT_SAMPLES)).sort((a, b) => a - b);
  report('raw.webrtc.browser-node.rtt.p50', 'ms', percentile(rtts, 50), percentile(rtts, 50));
  report('raw.webrtc.browser-node.rtt.p99', 'ms', percentile(rtts, 99), percentile(rtts, 50));
  await sides.browser.closeRaw();
  await sides.node.closeRaw();

  // Raw throughput on a fresh pair of transports without the echo.
  const rawFramesPerSecond: Record<string, number> = {};
  const rawRoom2 = `raw-${rooms++}`;
  await Promise.all([sides.node.openRaw(server.url, rawRoom2), sides.browser.openRaw(server.url, rawRoom2)]);
  for (const [from, to] of [['browser', 'node'], ['node', 'browser']] as const) {
    await sides[to].arm(RAW_FRAMES);
    const reached = sides[to].reached();
    const startMs = performance.now();
    const { dropped } = await sides[from].blast(RAW_FRAMES, SIZE);
    await reached;
    const seconds = (performance.now() - startMs) / 1000;
    rawFramesPerSecond[`${from}-to-${to}`] = RAW_FRAMES / seconds;
    const megabytesPerSecond = (RAW_FRAMES * SIZE) / 1e6 / seconds;
    report(`raw.webrtc.${from}-to-${to}.16k`, 'MB/s', megabytesPerSecond, megabytesPerSecond);
    if (dropped > 0) console.log(`# raw.webrtc.${from}-to-${to}.16k: ${dropped} frames dropped at the sender`);
  }
  await sides.browser.closeRaw();
  await sides.node.closeRaw();

  for (const primitive of ['fbcast', 'abcast'] as Primitive[]) {
    progress(`${primitive}: forming the group`);
    const room = `group-${rooms++}`;
    // Node founds (so it is the sequencer); the page joins.
    await sides.node.join(server.url, room);
    await sides.browser.join(server.url, room);
    while ((await sides.node.viewSize()) < 2 || (await sides.browser.viewSize()) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const [from, to] of [['browser', 'node'], ['node', 'browser']] as const) {
      progress(`${primitive} ${from} to ${to}`);
      await sides[to].arm(GROUP_MESSAGES);
      const reached = sides[to].reached();
      const startMs = performance.now();
      await sides[from].cast(primitive, GROUP_MESSAGES, SIZE, WINDOW);
      await reached;
      const rate = GROUP_MESSAGES / ((performance.now() - startMs) / 1000);
      report(`${primitive}.webrtc.${from}-to-${to}.16k`, 'msg/s', rate, rawFramesPerSecond[`${from}-to-${to}`]!);
      const [a, b] = [await sides[from].groupStats(), await sides[to].groupStats()];
      console.log(`# ${primitive} ${from} to ${to}: so far ${a.retransmits + b.retransmits} retransmitted, ${a.naks + b.naks} NAKs, ${a.dropped + b.dropped} frames dropped for backpressure`);
    }
    await sides.browser.leave();
    await sides.node.leave();
  }
} finally {
  await browser.close().catch(() => undefined);
  await server.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
}
