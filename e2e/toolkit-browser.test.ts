/**
 * Every toolkit tool for real in the browser: two headless Chromium pages and one Node process
 * (node-datachannel) form one group over WebRTC, bootstrapped by a real signaling server on a
 * loopback port, and make every tool in JoinOptions.setup (e2e/toolkit-browser/harness.ts).
 *
 * 1. Steady state, three members: one agreed leader; one balancer owner per key everywhere; RPC
 *    with filters 'all', 'first', 'majority' and a predicate, and a timeout (code TIMEOUT);
 *    concurrent map/counter/log updates from all three end identical; token and write-lock
 *    sections from all three never overlap (the runner's clock orders them: a member reports its
 *    entry and exit and waits for the runner to record each) and fencing tokens strictly rise;
 *    a snapshot taken amid payments conserves money; a checkpoint is saved everywhere.
 * 2. The Node member — leader, primary, token holder and write-lock holder, while both pages
 *    queue for the token and the lock and stream primary-backup requests — is SIGKILLed: the pages
 *    agree on a new leader, the token is regenerated and the lock re-granted (higher fencing token)
 *    to a page only after the kill, only the dead member's keys move, and every acknowledged
 *    request is in the new primary's state exactly once.
 * 3. A page reloads and gets the replicas by state transfer; a page closing while it holds the
 *    lock releases it to the other; then every page closes, and a new page of the same origin,
 *    alone, founds the group and restores the last checkpoint from IndexedDB.
 *
 * Steady state only here: the snapshot (no view change mid-snapshot), RPC with a replier crashing
 * mid-call, a writer crashing mid-update, and the leader's own page closing (the Node leader is
 * killed instead); the simulator and the UDP suites cover those.
 *
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startSignalingServer, type SignalingServer } from '@synod/signaling/server';
import { CHROMIUM, bundlePage, launchChromium, servePage } from './chromium.js';
import { INITIAL_BALANCE, type ReportEvent } from './toolkit-browser/harness.js';
import { checkOnlyDeadKeysMoved, checkSnapshotAmidPayments, infos, sameView, sectionLog, until, type Handle, type Info, type Replicas } from './toolkit-browser/runner.js';

const MEMBER_SCRIPT = fileURLToPath(new URL('./toolkit-browser/member.ts', import.meta.url));
const PAGE_SCRIPT = fileURLToPath(new URL('./toolkit-browser/page.ts', import.meta.url));
const ROOM = 'toolkit-e2e';
const KEYS = Array.from({ length: 48 }, (_, i) => `key-${i}`);

let child: ChildProcess | undefined;
let server: SignalingServer | undefined;
let http: Server | undefined;
let browser: Browser | undefined;
const dir = mkdtempSync(join(tmpdir(), 'synod-toolkit-browser-'));

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await browser?.close().catch(() => undefined);
  await server?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const { sections, record, endSectionsOf, check: checkSections } = sectionLog();

// ---------------------------------------------------------------- members

function startNode(signaling: string): Promise<Handle> {
  const proc = fork(MEMBER_SCRIPT, [], {
    execArgv: ['--conditions=source', '--import', 'tsx'],
    env: { ...process.env, E2E_DEADLINE_MS: '110000' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child = proc;
  const waiting = new Map<number | string, { resolve(value: any): void; reject(error: Error): void }>();
  let nextId = 1;
  proc.on('message', (message: Record<string, any>) => {
    if (message['event'] === 'report') {
      record(message['body']);
      proc.send({ cmd: 'ack', rid: message['rid'] });
      return;
    }
    const key = message['event'] === 'started' ? 'start' : message['id'] ?? 'start';
    const waiter = waiting.get(key);
    waiting.delete(key);
    if (message['event'] === 'failed') (waiter ? waiter.reject : console.error)(new Error(`node member: ${message['message']}`));
    else waiter?.resolve(message['value']);
  });
  proc.on('exit', () => {
    for (const waiter of waiting.values()) waiter.reject(new Error('node member exited'));
    waiting.clear();
  });
  const send = (key: number | string, command: Record<string, unknown>) =>
    new Promise<any>((resolve, reject) => {
      waiting.set(key, { resolve, reject });
      proc.send(command);
    });
  const handle: Handle = { name: 'node', call: (method, ...args) => send(nextId, { cmd: 'call', id: nextId++, method, args }) };
  return send('start', { cmd: 'start', signaling, room: ROOM, dir }).then(() => handle);
}

async function startPage(page: Page, name: string, signaling: string): Promise<Handle> {
  await page.waitForFunction(() => document.title === 'tools-ready', undefined, { timeout: 15_000 });
  await page.evaluate(([signaling, room]) => (globalThis as any).toolsTest.start(signaling, room), [signaling, ROOM] as const);
  return {
    name,
    call: (method, ...args) => page.evaluate(([method, args]) => (globalThis as any).toolsTest.call(method, args), [method, args] as const),
  };
}

describe('every toolkit tool in two Chromium pages and a Node process over WebRTC', { skip: !existsSync(CHROMIUM) && `no ${CHROMIUM}` }, () => {
  let signaling = '';
  let pageUrl = '';
  let context: BrowserContext;
  const pages: Page[] = [];
  let node: Handle;
  let p1: Handle;
  let p2: Handle;
  let nodeId = '';
  let ownersBefore: Record<string, string> = {};

  const openPage = async (name: string): Promise<{ page: Page; handle: Handle }> => {
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error(`${name}:`, error));
    page.on('console', (message) => void (message.type() === 'error' && console.error(`${name}:`, message.text())));
    await page.exposeFunction('synodReport', (event: ReportEvent) => record(event));
    await page.goto(pageUrl);
    return { page, handle: await startPage(page, name, signaling) };
  };

  before(async () => {
    server = await startSignalingServer({ port: 0, host: '127.0.0.1' });
    signaling = server.url;
    ({ server: http, url: pageUrl } = await servePage(await bundlePage(PAGE_SCRIPT)));
    browser = await launchChromium();
    context = await browser.newContext(); // one context: both pages (and the last one) share the origin's IndexedDB
    await context.grantPermissions(['camera', 'microphone'], { origin: pageUrl.slice(0, -1) });
  });

  it('steady state: leader, balancer, RPC, replicas, token, locks, snapshot and checkpoint agree across browsers and Node', { timeout: 60_000 }, async () => {
    // One after the other: the Node member founds the group (so it is the oldest: leader and primary).
    node = await startNode(signaling);
    const opened = [await openPage('page 1'), await openPage('page 2')];
    pages.push(...opened.map((o) => o.page));
    [p1, p2] = opened.map((o) => o.handle) as [Handle, Handle];
    const all = [node, p1, p2];
    const formed = await until('one view of three', () => infos(all), (i) => sameView(i, 3));
    nodeId = formed[0]!.memberId;
    const ids = formed.map((i) => i.memberId);

    // leader: the oldest member, the same at all three; only it may act as leader (once its lease holds).
    const leaders = await until('the leader to hold its lease', () => infos(all), (i) => i[0]!.isLeader);
    assert.deepEqual(leaders.map((i) => i.leader), [nodeId, nodeId, nodeId]);
    assert.deepEqual(leaders.map((i) => i.isLeader), [true, false, false]);

    // balancer: one owner per key, computed alike everywhere without messages.
    const owners = await Promise.all(all.map((h) => h.call<Record<string, string>>('owners', KEYS)));
    assert.deepEqual(owners[1], owners[0]);
    assert.deepEqual(owners[2], owners[0]);
    assert.deepEqual(new Set(Object.values(owners[0]!)), new Set(ids), 'every member owns some of the keys');
    ownersBefore = owners[0]!;

    // rpc: filters, called from a page and from Node; a timeout while the Node handler dawdles.
    const senders = (result: { replies: { sender: string }[] }) => result.replies.map((r) => r.sender).sort();
    const everyone = await p1.call('rpcCall', 'WHO', 'all');
    assert.deepEqual(senders(everyone), [...ids].sort());
    assert.deepEqual(everyone.replies.find((r: any) => r.sender === nodeId).data, { member: nodeId, kind: 'node' });
    assert.deepEqual(senders(await node.call('rpcCall', 'WHO', 'all')), [...ids].sort());
    assert.equal((await p2.call('rpcCall', 'WHO', 'first')).replies.length, 1);
    assert.ok((await p1.call('rpcCall', 'WHO', 'majority')).replies.length >= 2);
    const predicate = await p2.call('rpcCall', 'WHO', 'node-answered');
    assert.ok(predicate.replies.some((r: any) => r.data.kind === 'node'), 'the predicate held on the replies returned');
    assert.deepEqual(await p1.call('rpcCall', 'SLOW', 'all', 500), { error: 'TIMEOUT' });
    const firstSlow = await p1.call('rpcCall', 'SLOW', 'first', 2000);
    assert.equal(firstSlow.replies[0].data, 'page', 'a page answers first while Node dawdles');

    // replicated map/counter/log: concurrent updates from all three, identical after quiescence.
    const EACH = 30;
    await Promise.all(all.map((h, i) => h.call('replicate', `m${i}`, EACH)));
    const replicas = await until(
      'identical replicas',
      () => Promise.all(all.map((h) => h.call<Replicas>('replicas'))),
      (r) => r.every((x) => x.log.length === 3 * EACH && JSON.stringify(x.versions) === JSON.stringify(r[0]!.versions)),
    );
    for (const r of replicas.slice(1)) assert.deepEqual({ ...r, loads: [] }, { ...replicas[0]!, loads: [] });
    assert.equal(replicas[0]!.counter, 3 * ((EACH * (EACH + 1)) / 2));
    assert.equal(replicas[0]!.map.length, 7);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(replicas[0]!.log.filter((e) => String(e).startsWith(`m${i}.`)), Array.from({ length: EACH }, (_, n) => `m${i}.${n}`), `member ${i}'s appends in its order`);
    }

    // token and lock: all three contend at once; sections never overlap, fences rise.
    const [tokens, fences] = await Promise.all([
      Promise.all(all.map((h) => h.call<number[]>('tokenRounds', 3, 20))),
      Promise.all(all.map((h) => h.call<number[]>('lockRounds', 3, 20))),
    ]);
    assert.deepEqual(tokens.map((t) => t.length), [3, 3, 3]);
    assert.deepEqual(fences.map((f) => f.length), [3, 3, 3]);
    assert.equal(checkSections('token').length, 9);
    const lockSections = checkSections('lock');
    assert.equal(lockSections.length, 9);
    assert.equal(new Set(lockSections.map((s) => s.member)).size, 3);

    // snapshot: payments fly between all three while a page takes a snapshot; money is conserved in the cut.
    await checkSnapshotAmidPayments(all, p2, ids, 3 * INITIAL_BALANCE);

    // checkpoint: one cut, saved by all three (pages in IndexedDB, Node in files).
    const info = await node.call('takeCheckpoint');
    assert.equal(info.seq, 1);
  });

  it('the Node member SIGKILLed as leader, primary, token and lock holder: new leader, token regenerated, lock re-granted, only its keys move, acknowledged requests once', { timeout: 60_000 }, async () => {
    const nodeToken = await node.call<number>('tokenHold');
    const nodeFence = await node.call<number>('lockHold');
    // Both pages queue for the token and the lock, and stream requests to the primary-backup counter.
    const pageWork = [p1, p2].map((h, i) =>
      Promise.all([h.call<number[]>('tokenRounds', 1, 20), h.call<number[]>('lockRounds', 1, 20), h.call<{ acked: string[]; slowestMs: number }>('pbStream', `p${i}`, 30, 15)]),
    );
    await until('requests run by the Node primary', () => node.call('pbState'), (s) => s.isPrimary && s.appliedSeq >= 8);
    const killedAt = Date.now();
    child!.kill('SIGKILL');
    endSectionsOf(nodeId, killedAt);
    const survivors = [p1, p2];
    const work = await Promise.all(pageWork);
    const twoPages = await until('one view of the two pages', () => infos(survivors), (i) => sameView(i, 2));
    const [id1, id2] = twoPages.map((i) => i.memberId) as [string, string];

    // leader: both pages name the older page; it acts as leader once the dead leader's lease ran out.
    const leaders = await until('the new leader to hold its lease', () => infos(survivors), (i) => i[0]!.isLeader);
    assert.deepEqual(leaders.map((i) => i.leader), [id1, id1]);
    assert.equal(leaders[1]!.isLeader, false);

    // token and lock: granted to the pages only after the kill, generation and fencing token above the dead holder's.
    for (const tool of ['token', 'lock'] as const) {
      const later = checkSections(tool).filter((s) => s.member !== nodeId && s.enterMs >= killedAt - 1);
      assert.equal(later.filter((s) => s.enterMs > killedAt).length, 2, `both pages held the ${tool} after the kill`);
      for (const s of later) assert.ok(s.fence > (tool === 'token' ? nodeToken : nodeFence), `${tool} ${JSON.stringify(s)} above the dead holder's`);
    }
    assert.deepEqual(work.map(([t, f]) => [t.length, f.length]), [[1, 1], [1, 1]]);

    // balancer: the pages agree; only the dead member's keys moved.
    await checkOnlyDeadKeysMoved(survivors, ownersBefore, nodeId, [id1, id2]);

    // primary-backup: the older page is primary; every acknowledged request is in its state exactly once.
    const acked = work.flatMap(([, , stream]) => stream.acked);
    assert.equal(acked.length, 60);
    const slowest = Math.max(...work.map(([, , stream]) => stream.slowestMs));
    assert.ok(slowest > 500, `a request waited across the failover (slowest ${slowest} ms)`);
    const states = await until(
      'the backup to hold the primary state',
      () => Promise.all(survivors.map((h) => h.call('pbState'))),
      (s) => s[0].appliedSeq === s[1].appliedSeq,
    );
    assert.equal(states[0].isPrimary, true);
    assert.equal(states[0].primary, id1);
    const ids = states[0].ledger.ids as string[];
    assert.equal(new Set(ids).size, ids.length, 'no request ran twice');
    for (const id of acked) assert.ok(ids.includes(id), `acknowledged ${id} is in the primary's state`);
    assert.equal(states[0].ledger.total, ids.length);
    assert.deepEqual(states[1].ledger, states[0].ledger);

    // rpc: the dead replier is gone from 'all'.
    assert.equal((await p2.call('rpcCall', 'WHO', 'all')).replies.length, 2);
    console.log(`# failover: token/lock re-granted ${Math.min(...sections.filter((s) => s.enterMs > killedAt).map((s) => s.enterMs)) - killedAt} ms after the kill; slowest request ${slowest} ms; ${ids.length} requests in the ledger`);
  });

  it('a reloaded page gets the replicas by transfer; a closing holder releases its lock; a page alone restores the checkpoint from IndexedDB', { timeout: 60_000 }, async () => {
    const id1 = (await p1.call<Info>('info')).memberId;
    // replicated: while page 2 reloads, page 1 writes; the reloaded page gets everything by state transfer.
    await pages[1]!.reload();
    await p1.call('replicate', 'while-away', 5);
    p2 = await startPage(pages[1]!, 'page 2', signaling);
    const rejoined = await until('the reloaded page in the view', () => infos([p1, p2]), (i) => sameView(i, 2));
    assert.ok(!rejoined.map((i) => i.memberId).includes(nodeId));
    const [r1, r2] = await until(
      'the transferred replicas',
      () => Promise.all([p1, p2].map((h) => h.call<Replicas>('replicas'))),
      ([a, b]) => JSON.stringify(a!.versions) === JSON.stringify(b!.versions),
    );
    assert.deepEqual(r2!.loads.sort(), ['counter:transfer', 'log:transfer', 'map:transfer']);
    assert.deepEqual({ ...r2!, loads: [] }, { ...r1!, loads: [] });
    assert.ok(r2!.log.includes('while-away.4'));

    // checkpoint: a cut of the replicas, saved in IndexedDB; updates after it are not in it.
    const checkpointed = { ...r1!, loads: [] };
    const info = await p2.call('takeCheckpoint');
    assert.equal(info.seq, 2, 'the checkpoint number went on across the failover and the transfer');
    await p1.call('replicate', 'after-checkpoint', 3);

    // locks: page 2 holds the lock and closes; page 1, waiting, gets it with a higher fencing token.
    const heldFence = await p2.call<number>('lockHold');
    const waiting = p1.call<number[]>('lockRounds', 1, 20);
    const p2Id = (await p2.call<Info>('info')).memberId;
    await until('page 1 queued behind page 2', () => p1.call('lockQueue'), (q) => q.holders[0]?.member === p2Id && q.waiting[0]?.member === id1);
    const closedAt = Date.now();
    const closing = pages[1]!.close();
    endSectionsOf(p2Id, closedAt);
    await closing;
    const [fence] = await waiting;
    assert.ok(fence! > heldFence);
    const regrant = checkSections('lock').at(-1)!;
    assert.equal(regrant.member, id1);
    assert.ok(regrant.enterMs > closedAt);
    console.log(`# lock released by the closed page: re-granted ${regrant.enterMs - closedAt} ms after the close`);

    // checkpoint: every member gone; a new page of the same origin founds the group and restores it.
    await pages[0]!.close();
    const alone = await openPage('page 3');
    const restored = await alone.handle.call('restored');
    assert.ok(restored, 'a checkpoint was restored');
    assert.equal(restored.seq, 2);
    const info3 = await alone.handle.call<Info>('info');
    assert.deepEqual(info3.members, [info3.memberId], 'it founded the group alone');
    const replicas = await alone.handle.call<Replicas>('replicas');
    assert.deepEqual(replicas.loads.sort(), ['counter:checkpoint', 'log:checkpoint', 'map:checkpoint']);
    assert.deepEqual({ ...replicas, loads: [] }, checkpointed, 'exactly the checkpointed replicas');
    await alone.handle.call('close');
  });
});
