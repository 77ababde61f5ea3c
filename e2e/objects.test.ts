/**
 * A shared region edited by a headless Chromium page and a Node process (node-datachannel) in one
 * group over WebRTC, bootstrapped by a signaling server on a loopback port. Both add to the same
 * page's counter under its write lock, concurrently: no update is lost and both end identical.
 * Then the page reloads: IndexedDB already holds the region before it joins, and once it joins
 * (state transfer from the Node member) it holds the group's region and edits it further.
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { startSignalingServer, type SignalingServer } from '@synod/signaling/server';
import { CHROMIUM, bundlePage, launchChromium } from './chromium.js';
import type { RegionState } from './objects/harness.js';

const MEMBER_SCRIPT = fileURLToPath(new URL('./objects/member.ts', import.meta.url));
const PAGE_SCRIPT = fileURLToPath(new URL('./objects/page.ts', import.meta.url));
const ROOM = 'objects-e2e';
const EACH = 15;

let child: ChildProcess | undefined;
let server: SignalingServer | undefined;
let http: Server | undefined;
let browser: Browser | undefined;
const dir = mkdtempSync(join(tmpdir(), 'synod-objects-'));

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await browser?.close().catch(() => undefined);
  await server?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function request(command: Record<string, unknown>, answer: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child!.off('message', listener), reject(new Error(`node member: no ${answer} after ${JSON.stringify(command)}`))), timeoutMs);
    const listener = (message: Record<string, any>) => {
      if (message['event'] !== answer && message['event'] !== 'failed') return;
      clearTimeout(timer);
      child!.off('message', listener);
      if (message['event'] === 'failed') reject(new Error(`node member failed: ${message['message']}`));
      else resolve(message);
    };
    child!.on('message', listener);
    child!.send(command);
  });
}

const pageCall = <T>(page: Page, method: string, ...args: unknown[]): Promise<T> =>
  page.evaluate(([method, args]) => ((globalThis as any).objectsTest[method as string] as (...a: unknown[]) => Promise<T>)(...(args as unknown[])), [method, args] as const);

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a shared region edited by a Chromium page and a Node process', { skip: !existsSync(CHROMIUM) && `no ${CHROMIUM}` }, () => {
  it('no lost update, identical pages, and the region back after a reload', { timeout: 120_000 }, async () => {
    server = await startSignalingServer({ port: 0, host: '127.0.0.1' });
    const script = await bundlePage(PAGE_SCRIPT);
    http = createServer((req, response) => {
      if (req.url === '/page.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>loading</title><script type="module" src="/page.js"></script>');
    });
    await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
    const address = http.address();
    const pageUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    const signaling = server.url;

    child = fork(MEMBER_SCRIPT, [], { execArgv: ['--conditions=source', '--import', 'tsx'], env: { ...process.env, E2E_DEADLINE_MS: '110000' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await request({ cmd: 'start', signaling, room: ROOM, dir }, 'started');

    browser = await launchChromium();
    const context = await browser.newContext();
    await context.grantPermissions(['camera', 'microphone'], { origin: pageUrl.slice(0, -1) });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('page:', error));
    const ready = () => page.waitForFunction(() => document.title === 'objects-ready', undefined, { timeout: 10_000 });
    await page.goto(pageUrl);
    await ready();
    await pageCall(page, 'start', signaling, ROOM);
    const nodeState = async (): Promise<RegionState> => {
      const { counters, versions, writers, viewSize } = await request({ cmd: 'state' }, 'state');
      return { counters, versions, writers, viewSize };
    };
    await until('one view of both', async () => (await nodeState()).viewSize === 2 && (await pageCall<RegionState>(page, 'state')).viewSize === 2);

    // Both edit page 0 at once, and each a page of its own.
    await Promise.all([
      pageCall(page, 'increment', 0, EACH, 'chromium'),
      request({ cmd: 'increment', page: 0, count: EACH, who: 'node' }, 'incremented', 60_000),
      pageCall(page, 'increment', 1, 3, 'chromium'),
      request({ cmd: 'increment', page: 2, count: 4, who: 'node' }, 'incremented', 60_000),
    ]);
    const expected = [2 * EACH, 3, 4, 0];
    await until('both to apply every section', async () => {
      const [a, b] = [await nodeState(), await pageCall<RegionState>(page, 'state')];
      return JSON.stringify(a.counters) === JSON.stringify(expected) && JSON.stringify(b.counters) === JSON.stringify(expected);
    });
    const before = await pageCall<RegionState>(page, 'state');
    assert.deepEqual({ ...(await nodeState()), viewSize: 2 }, before, 'identical pages, versions and writers');
    assert.deepEqual(before.versions, [2 * EACH, 3, 4, 0]);

    // The page joined second, so its transferred region (every page) is stored.
    // Reload: IndexedDB holds the region before the page rejoins, then the group's region comes by state transfer.
    await until('IndexedDB to hold every section', async () => JSON.stringify(await pageCall(page, 'stored')) === JSON.stringify([2 * EACH, 3, 4, 0]));
    await page.reload();
    await ready();
    assert.deepEqual(await pageCall(page, 'stored'), [2 * EACH, 3, 4, 0], 'the stored region after the reload');
    await request({ cmd: 'increment', page: 3, count: 2, who: 'node' }, 'incremented'); // while the page is away
    await pageCall(page, 'start', signaling, ROOM);
    await until('the reloaded page to rejoin', async () => (await pageCall<RegionState>(page, 'state')).viewSize === 2 && (await nodeState()).viewSize === 2);
    assert.deepEqual((await pageCall<RegionState>(page, 'state')).counters, [2 * EACH, 3, 4, 2], 'the group region, by state transfer');
    await pageCall(page, 'increment', 0, 1, 'chromium');
    await until('the Node member to see the edit after the reload', async () => (await nodeState()).counters[0] === 2 * EACH + 1);
    assert.equal((await nodeState()).writers[0], 'chromium');
  });
});
