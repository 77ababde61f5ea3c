/**
 * A mixed group over WebRTC: two headless Chromium pages and two Node processes (node-datachannel),
 * bootstrapped by a real signaling server on a loopback port. Every member abcasts in both
 * directions and all deliver the same sequence; then a page reloads (a new peer, as a restarted
 * page is), rejoins with state transfer, and the group goes on agreeing.
 *
 * Chromium is Debian's (/usr/bin/chromium, installed by .ci/run); Playwright never downloads one.
 * It gathers ICE candidates on loopback only with --allow-loopback-in-peer-connection, and shows
 * real host addresses (not mDNS names) only to a page granted camera and microphone.
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, bundlePage, launchChromium } from './chromium.js';
import { startSignalingServer, type SignalingServer } from '@synod/signaling/server';

const MEMBER_SCRIPT = fileURLToPath(new URL('./webrtc/member.ts', import.meta.url));
const PAGE_SCRIPT = fileURLToPath(new URL('./browser/page.ts', import.meta.url));
const ROOM = 'mixed-e2e';
const PER_MEMBER = 25;

interface NodeMember {
  readonly child: ChildProcess;
  request(command: Record<string, unknown>, answer: string, timeoutMs?: number): Promise<Record<string, any>>;
}

interface PageMember {
  readonly page: Page;
}

type Handle = { kind: 'node'; member: NodeMember } | { kind: 'page'; member: PageMember };

interface Snapshot {
  readonly delivered: string[];
  readonly viewSize: number;
  readonly viewId: number;
}

const children: ChildProcess[] = [];
let server: SignalingServer | undefined;
let http: Server | undefined;
let browser: Browser | undefined;

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await browser?.close().catch(() => undefined);
  await server?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
});

function spawnNodeMember(): NodeMember {
  const child = fork(MEMBER_SCRIPT, [], {
    execArgv: ['--conditions=source', '--import', 'tsx'],
    env: { ...process.env, E2E_DEADLINE_MS: '85000' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const inbox: Record<string, any>[] = [];
  const waiters = new Set<() => void>();
  child.on('message', (message: Record<string, any>) => {
    if (message['event'] === 'failed' || message['event'] === 'error') console.error('node member:', message['message']);
    inbox.push(message);
    for (const waiter of [...waiters]) waiter();
  });
  child.on('exit', () => {
    for (const waiter of [...waiters]) waiter();
  });
  return {
    child,
    request(command, answer, timeoutMs = 30_000) {
      child.send(command);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`node member: no ${answer} after ${JSON.stringify(command)}`));
        }, timeoutMs);
        const check = () => {
          const index = inbox.findIndex((message) => message['event'] === answer || message['event'] === 'failed');
          if (index >= 0) {
            const [message] = inbox.splice(index, 1);
            clearTimeout(timer);
            waiters.delete(check);
            if (message!['event'] === 'failed') reject(new Error(`node member failed: ${message!['message']}`));
            else resolve(message!);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`node member exited before ${answer}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

async function startPageMember(page: Page, signaling: string): Promise<{ address: string; loaded: number }> {
  await page.waitForFunction(() => document.title === 'synod-ready', undefined, { timeout: 10_000 });
  return page.evaluate(
    async ({ signaling, room }) => {
      const test = (globalThis as any).synodTest;
      const member = await test.startMember(signaling, room);
      test.member = member;
      return { address: member.address as string, loaded: member.loaded as number };
    },
    { signaling, room: ROOM },
  );
}

async function snapshot(handle: Handle): Promise<Snapshot> {
  if (handle.kind === 'node') {
    const state = await handle.member.request({ cmd: 'state' }, 'state');
    return { delivered: state['delivered'], viewSize: state['viewSize'], viewId: state['viewId'] };
  }
  return handle.member.page.evaluate(() => {
    const member = (globalThis as any).synodTest.member;
    return { delivered: [...member.delivered] as string[], viewSize: member.viewSize() as number, viewId: member.viewId() as number };
  });
}

async function send(handle: Handle, count: number, prefix: string, padChars = 0): Promise<void> {
  if (handle.kind === 'node') await handle.member.request({ cmd: 'send', count, prefix, padChars }, 'sent');
  else {
    await handle.member.page.evaluate(
      ({ count, prefix, padChars }) => (globalThis as any).synodTest.member.send(count, prefix, padChars),
      { count, prefix, padChars },
    );
  }
}

async function waitUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a mixed group of Chromium pages and Node processes over WebRTC', { skip: !existsSync(CHROMIUM) && `no ${CHROMIUM}` }, () => {
  let pageUrl = '';
  let context: BrowserContext;

  before(async () => {
    server = await startSignalingServer({ port: 0, host: '127.0.0.1' });
    const script = await bundlePage(PAGE_SCRIPT);
    console.log(`# page bundle (peer + core + transport-webrtc + signaling client): ${script.length} bytes, ${gzipSync(script).length} gzipped`);
    http = createServer((request, response) => {
      if (request.url === '/page.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      } else {
        response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>loading</title><script type="module" src="/page.js"></script>');
      }
    });
    await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
    const address = http.address();
    pageUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    browser = await launchChromium();
    context = await browser.newContext();
    await context.grantPermissions(['camera', 'microphone'], { origin: pageUrl.slice(0, -1) });
  });

  it('abcast both ways: every member delivers the same sequence; a reloaded page rejoins with state transfer', { timeout: 85_000 }, async () => {
    const signaling = server!.url;
    // One after the other: the founder is up first, so the others find its group.
    const nodeA = spawnNodeMember();
    await nodeA.request({ cmd: 'start', signaling, room: ROOM }, 'started');
    const pages: Page[] = [];
    for (let i = 0; i < 2; i++) {
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') console.error(`page ${i}:`, message.text());
      });
      page.on('pageerror', (error) => console.error(`page ${i}:`, error));
      await page.goto(pageUrl);
      await startPageMember(page, signaling);
      pages.push(page);
    }
    const nodeB = spawnNodeMember();
    await nodeB.request({ cmd: 'start', signaling, room: ROOM }, 'started');
    const handles: Handle[] = [
      { kind: 'node', member: nodeA },
      { kind: 'page', member: { page: pages[0]! } },
      { kind: 'page', member: { page: pages[1]! } },
      { kind: 'node', member: nodeB },
    ];
    const all = () => Promise.all(handles.map(snapshot));
    await waitUntil(all, (states) => states.every((s) => s.viewSize === 4), 'a view of 4 at every member');

    // Both directions at once: Node → browsers and browsers → Node, all in one total order.
    await Promise.all(handles.map((handle, i) => send(handle, PER_MEMBER, `r1.m${i}`)));
    const round1 = await waitUntil(all, (states) => states.every((s) => s.delivered.length === 4 * PER_MEMBER), `${4 * PER_MEMBER} deliveries each`);
    for (const state of round1.slice(1)) assert.deepEqual(state.delivered, round1[0]!.delivered);
    for (let i = 0; i < 4; i++) {
      const own = round1[0]!.delivered.filter((entry) => entry.startsWith(`r1.m${i}.`));
      assert.deepEqual(own, Array.from({ length: PER_MEMBER }, (_, n) => `r1.m${i}.${n}`), `member ${i}'s messages in its FIFO order`);
    }

    // A page reloads: its old peer is gone (its connections close with the page), a new one joins.
    const before = round1[0]!.viewId;
    await pages[0]!.reload();
    const rejoined = await startPageMember(pages[0]!, signaling);
    assert.equal(rejoined.loaded, 4 * PER_MEMBER, 'the reloaded page loaded the group state by transfer');
    await waitUntil(
      all,
      (states) => states.every((s) => s.viewSize === 4 && s.viewId > before && s.viewId === states[0]!.viewId),
      'a new view of 4 at every member',
    );
    await Promise.all(handles.map((handle, i) => send(handle, PER_MEMBER, `r2.m${i}`)));
    const round2 = await waitUntil(all, (states) => states.every((s) => s.delivered.length === 8 * PER_MEMBER), `${8 * PER_MEMBER} deliveries each`);
    for (const state of round2.slice(1)) assert.deepEqual(state.delivered, round2[0]!.delivered);
    assert.deepEqual(round2[0]!.delivered.slice(0, 4 * PER_MEMBER), round1[0]!.delivered);

    // Large messages both ways: 60,000 characters ride one 64 KiB frame, 200,000 are fragmented.
    await Promise.all(handles.map((handle, i) => Promise.all([send(handle, 2, `r3.m${i}`, 60_000), send(handle, 1, `r3.big${i}`, 200_000)])));
    const round3 = await waitUntil(all, (states) => states.every((s) => s.delivered.length === 8 * PER_MEMBER + 12), 'the large messages');
    for (const state of round3.slice(1)) assert.deepEqual(state.delivered, round3[0]!.delivered);
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(round3[0]!.delivered.filter((entry) => entry.startsWith(`r3.m${i}.`)), [`r3.m${i}.0`, `r3.m${i}.1`]);
      assert.ok(round3[0]!.delivered.includes(`r3.big${i}.0`));
    }

    await Promise.all([nodeA.request({ cmd: 'close' }, 'closed'), nodeB.request({ cmd: 'close' }, 'closed')]);
    await Promise.all(pages.map((page) => page.evaluate(() => (globalThis as any).synodTest.member.close())));
  });
});
