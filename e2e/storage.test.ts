/**
 * @synod/storage in real headless Chromium (Debian's /usr/bin/chromium; Playwright never downloads
 * one): the browser variant, IndexedDB through idb, passes the shared compliance suite; what a page
 * wrote is there after the page reloads; and a putMany cut short by a reload is all or nothing.
 * The page script is bundled with esbuild for the browser, so the `browser` condition picks the
 * IndexedDB variant (a bundle that reached node:fs would fail to build).
 * Sockets: a loopback HTTP server only (scripts/test.mjs runs e2e inside a network namespace).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { CHROMIUM, bundlePage, launchChromium } from './chromium.js';
import { storageCompliance } from '@synod/storage/compliance';

const PAGE_SCRIPT = fileURLToPath(new URL('./storage/page.ts', import.meta.url));
interface StorageTest {
  runCase(name: string): Promise<string | null>;
  readAll(name: string, prefix?: string): Promise<Record<string, string>>;
  startBatch(name: string, generation: number, count: number, bytes: number): Promise<void>;
  write(name: string, entries: Record<string, string>, deleted: string[]): Promise<void>;
}
/** Calls the page's harness (page.evaluate sends the function's source, so it names no closure). */
function call<M extends keyof StorageTest>(page: Page, method: M, ...args: Parameters<StorageTest[M]>): Promise<Awaited<ReturnType<StorageTest[M]>>> {
  return page.evaluate(
    ([method, args]) => ((globalThis as any).storageTest[method] as (...args: unknown[]) => Promise<never>)(...args),
    [method, args] as const,
  );
}

let http: Server | undefined;
let browser: Browser | undefined;
after(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
});

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => document.title === 'storage-ready', undefined, { timeout: 10_000 });
}

describe('@synod/storage in Chromium (IndexedDB)', { skip: !existsSync(CHROMIUM) && `no ${CHROMIUM}` }, () => {
  let page: Page;
  let pageUrl = '';

  before(async () => {
    const script = await bundlePage(PAGE_SCRIPT);
    http = createServer((request, response) => {
      if (request.url === '/page.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>loading</title><script type="module" src="/page.js"></script>');
    });
    await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
    const address = http.address();
    pageUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    browser = await launchChromium();
    const context = await browser.newContext();
    page = await context.newPage();
    page.on('pageerror', (error) => console.error('page:', error));
    await page.goto(pageUrl);
    await ready(page);
  });

  describe('the compliance suite', () => {
    // The names only: the cases themselves run in the page.
    const dummy = async () => assert.fail('not run in Node');
    for (const { name } of storageCompliance({ create: dummy, reopen: dummy })) {
      it(name, { timeout: 30_000 }, async () => {
        assert.equal(await call(page, 'runCase', name), null);
      });
    }
  });

  it('what a page wrote is there after it reloads, and in another page of the origin', { timeout: 30_000 }, async () => {
    const entries = { 'sector/D5/flights': 'AF123,KL789', 'sector/D5/view': '7', 'sector/D6/view': '3', '../escape': 'x', 'gone': 'soon' };
    await call(page, 'write', 'reload', entries, ['gone']);
    await page.reload();
    await ready(page);
    const expected = { '../escape': 'x', 'sector/D5/flights': 'AF123,KL789', 'sector/D5/view': '7', 'sector/D6/view': '3', 'single': 'one value' };
    const afterReload = await call(page, 'readAll', 'reload');
    assert.deepEqual(afterReload, expected);
    assert.deepEqual(Object.keys(afterReload), Object.keys(expected).sort(), 'keys() sorted');
    assert.deepEqual(await call(page, 'readAll', 'reload', 'sector/D5/'), { 'sector/D5/flights': 'AF123,KL789', 'sector/D5/view': '7' });
    const other = await page.context().newPage();
    await other.goto(pageUrl);
    await ready(other);
    assert.deepEqual(await call(other, 'readAll', 'reload'), expected);
    await other.close();
  });

  it('a putMany cut short by a page reload is all or nothing', { timeout: 90_000 }, async () => {
    const ROUNDS = 10;
    const COUNT = 100;
    const BYTES = 64 * 1024;
    let committed = 0; // the newest generation found whole after a reload
    const outcomes = { committed: 0, aborted: 0 };
    for (let generation = 1; generation <= ROUNDS; generation++) {
      await call(page, 'startBatch', 'cut', generation, COUNT, BYTES);
      await new Promise((resolve) => setTimeout(resolve, generation % 2 === 0 ? 0 : Math.random() * 10));
      await page.reload();
      await ready(page);
      const values = await call(page, 'readAll', 'cut', 'batch/');
      const generations = new Set<number>();
      for (const [key, value] of Object.entries(values)) {
        const [found, index] = value.split(':').map(Number);
        assert.equal(value.length, BYTES, `${key}: whole value`);
        assert.equal(`batch/${String(index).padStart(3, '0')}`, key, `${key}: its own value`);
        assert.match(value.slice(value.lastIndexOf(':') + 1), new RegExp(`^${found! % 10}*$`), `${key}: not torn`);
        generations.add(found!);
      }
      if (committed === 0 && generations.size === 0) {
        outcomes.aborted++;
        continue;
      }
      assert.equal(Object.keys(values).length, COUNT, `round ${generation}: every key of a batch`);
      assert.equal(generations.size, 1, `round ${generation}: one generation across the batch, got ${[...generations]}`);
      const [found] = generations;
      assert.ok(found === generation || found === committed, `round ${generation}: generation ${found}, before it ${committed}`);
      if (found === generation) outcomes.committed++;
      else outcomes.aborted++;
      committed = found!;
    }
    console.log(`# ${ROUNDS} reloads during putMany: ${outcomes.committed} batches committed whole, ${outcomes.aborted} left nothing`);
  });
});
