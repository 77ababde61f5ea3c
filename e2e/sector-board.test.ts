/**
 * The sector-board demo as a user meets it: the demo's own pieces (a signaling server on a
 * loopback port, the rollup-built app on a static server, the radar feed and sector D6 peers as
 * Node processes over WebRTC) and two Chromium pages driven through the UI.
 *
 * A claim in one page shows in the other; the other page cannot change a claimed flight; killing
 * the radar-feed process shows the new view in both pages; a reloaded page comes back with the
 * board; closing a controller's tab releases its claims. Screenshots go to the folder printed.
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { startSignalingServer, type SignalingServer } from '@synod/signaling/server';
import { buildApp, serveApp, startNodePeer } from '../apps/sector-board/src/node/demo.js';

interface PageBoard {
  members: number;
  viewId: number;
  self: string;
  flights: { callsign: string; sector: string; owner?: string; clearedAltitudeFt: number }[];
  profiles: [string, { name: string; kind: string; role: string }][];
}

const children: ChildProcess[] = [];
let signaling: SignalingServer | undefined;
let http: Server | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
const shots = mkdtempSync(join(tmpdir(), 'synod-sector-board-'));

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await browser?.close().catch(() => undefined);
  await signaling?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
});

async function board(page: Page): Promise<PageBoard | undefined> {
  return page.evaluate(() => {
    const session = (globalThis as any).sectorBoard;
    if (!session?.view) return undefined;
    return {
      members: session.view.members.length as number,
      viewId: session.view.viewId as number,
      self: session.self as string,
      flights: [...session.board.flights.values()].map((flight: any) => ({ ...flight })),
      profiles: [...session.board.profiles],
    };
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

describe('the sector board: two Chromium pages and two Node peers', () => {
  let appUrl = '';
  let signalingUrl = '';

  before(async () => {
    await buildApp();
    signaling = await startSignalingServer({ port: 0 });
    signalingUrl = `ws://127.0.0.1:${signaling.port}`;
    http = await serveApp('127.0.0.1', 0);
    const address = http.address();
    appUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    await context.grantPermissions(['camera', 'microphone'], { origin: appUrl });
    console.log(`sector-board screenshots: ${shots}`);
  });

  it('claims, read-only strips for others, a killed feed, a reload and a closed tab', { timeout: 150_000 }, async () => {
    const feed = startNodePeer('feed', signalingUrl, 7);
    children.push(feed);
    const sector = startNodePeer('sector', signalingUrl, 7);
    children.push(sector);
    const alice = await context!.newPage();
    const bob = await context!.newPage();
    for (const page of [alice, bob]) page.on('pageerror', (error) => console.error('page error:', error));
    await alice.goto(`${appUrl}/?signal=${encodeURIComponent(signalingUrl)}&name=Alice`);
    await bob.goto(`${appUrl}/?signal=${encodeURIComponent(signalingUrl)}&name=Bob`);
    const joined = Date.now();
    for (const page of [alice, bob]) await until('a view of four', async () => ((await board(page))?.members === 4 ? true : undefined), 40_000);
    console.log(`sector-board: both pages in a view of four after ${Date.now() - joined} ms`);
    // The view panel says who is who: two browsers, two Node peers, one leader.
    await until('the view panel of four', async () => ((await alice.locator('#members li').count()) === 4 ? true : undefined));
    await until('profiles of all four', async () => ((await board(alice))?.profiles.length === 4 ? true : undefined));
    assert.equal(await alice.locator('#members .badge.browser').count(), 2);
    assert.equal(await alice.locator('#members .badge.node').count(), 2);
    assert.equal(await alice.locator('#members .badge.leader').count(), 1);

    // Alice claims a free D5 flight through the UI.
    const target = await until('a free flight in D5', async () => (await board(alice))?.flights.find((flight) => flight.sector === 'D5' && !flight.owner)?.callsign);
    await alice.locator(`#strips tr[data-callsign="${target}"]`).click();
    await alice.getByRole('button', { name: 'Claim' }).click();
    const aliceId = (await board(alice))!.self;
    await until('Bob to see Alice’s claim', async () => (await board(bob))?.flights.find((flight) => flight.callsign === target)?.owner === aliceId);
    await until('Bob’s strip to name Alice', async () => ((await bob.locator(`#strips tr[data-callsign="${target}"] td:last-child`).textContent()) === 'Alice' ? true : undefined));

    // Bob cannot change it: the buttons are disabled, and a clearance sent anyway is refused everywhere.
    await bob.locator(`#strips tr[data-callsign="${target}"]`).click();
    assert.equal(await bob.getByRole('button', { name: 'Claim' }).isDisabled(), true);
    assert.equal(await bob.getByRole('button', { name: 'Climb/descend' }).isDisabled(), true);
    const before = (await board(alice))!.flights.find((flight) => flight.callsign === target)!.clearedAltitudeFt;
    await bob.evaluate((callsign) => (globalThis as any).sectorBoard.clear(callsign, { altitudeFt: 9000 }), target);
    await until('Bob’s refusal in his log', async () => ((await bob.locator('#log li.warn', { hasText: 'Refused clear' }).count()) > 0 ? true : undefined));
    for (const page of [alice, bob]) {
      assert.equal((await board(page))!.flights.find((flight) => flight.callsign === target)!.clearedAltitudeFt, before, 'a refused clearance changes nothing');
    }
    // Alice clears it to FL200: both boards agree.
    await alice.locator('#selected input[name="fl"]').fill('200');
    await alice.getByRole('button', { name: 'Climb/descend' }).click();
    for (const page of [alice, bob]) {
      await until('the clearance on both boards', async () => (await board(page))?.flights.find((flight) => flight.callsign === target)?.clearedAltitudeFt === 20000);
    }
    await shot(alice, '1-alice-claimed');
    await shot(bob, '1-bob-read-only');

    // Kill the radar feed: both pages see a view of three within seconds; the flights stay.
    const flightsBefore = (await board(alice))!.flights.length;
    const killed = Date.now();
    feed.kill('SIGKILL');
    for (const page of [alice, bob]) await until('a view of three after the feed is killed', async () => ((await board(page))?.members === 3 ? true : undefined));
    console.log(`sector-board: both pages saw the feed leave after ${Date.now() - killed} ms`);
    assert.equal((await board(bob))!.flights.length, flightsBefore, 'the flights stay when the feed dies');
    await until('the log to report the departure', async () => ((await alice.locator('#log li', { hasText: 'left: Radar feed' }).count()) > 0 ? true : undefined));
    await shot(alice, '2-feed-killed');

    // Bob reloads: the board shows at once from IndexedDB, then he is back in the view.
    await bob.reload();
    const restoredFlights = await until('the restored board before the join', async () =>
      bob.evaluate(() => document.querySelectorAll('#strips tbody tr').length || undefined),
    );
    assert.ok(restoredFlights >= flightsBefore - 1, `the reloaded page shows the stored board (${restoredFlights} strips)`);
    await until('Bob back in a view of three', async () => ((await board(bob))?.members === 3 ? true : undefined), 30_000);
    assert.equal((await board(bob))!.flights.find((flight) => flight.callsign === target)?.owner, aliceId, 'the rejoined page has Alice’s claim by state transfer');
    await shot(bob, '3-bob-reloaded');

    // Alice closes her tab: her claim is released at every member.
    await alice.close();
    await until('Alice’s claim released on Bob’s board', async () => {
      const state = await board(bob);
      return state?.members === 2 && state.flights.find((flight) => flight.callsign === target)?.owner === undefined;
    });
    await until('the strip to show it free', async () => ((await bob.locator(`#strips tr[data-callsign="${target}"] td:last-child`).textContent()) === '—' ? true : undefined));
    await shot(bob, '4-alice-gone');
    sector.kill('SIGTERM');
  });
});
