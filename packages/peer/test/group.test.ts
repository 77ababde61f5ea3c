import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHub, memory } from '@synod/transport-memory';
import { SynodError } from '@synod/core';
import { createPeer, type Group, type Message, type ViewChange } from '../src/index.js';
import { agreeOnView, cluster, sleep, timing, waitFor } from './cluster.js';

const ORDERS = ['fbcast', 'cbcast', 'abcast', 'safe'] as const;

describe('peer over the memory transport', () => {
  it('three peers join and agree on the view', async () => {
    const c = await cluster(3);
    try {
      const view = await agreeOnView(c.groups, 3);
      assert.deepEqual(view.members, ['p0/1', 'p1/1', 'p2/1']);
      assert.equal(view.group, 'g');
      assert.deepEqual(
        c.groups.map((group) => group.memberId),
        ['p0/1', 'p1/1', 'p2/1'],
      );
    } finally {
      await c.close();
    }
  });

  it('three peers joining at once still form one group', async () => {
    const hub = createHub();
    const peers = await Promise.all(['a', 'b', 'c'].map((id) => createPeer({ transport: memory({ hub, id }), trace: false })));
    try {
      const groups = await Promise.all(peers.map((peer) => peer.join('together', timing)));
      await agreeOnView(groups, 3);
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
    }
  });

  for (const flavour of ORDERS) {
    it(`${flavour} delivers bytes, text and JSON to every member, sender included`, async () => {
      const c = await cluster(3);
      try {
        const seen: Message[][] = c.groups.map(() => []);
        c.groups.forEach((group, i) => group.handle('POS', (msg) => void seen[i]!.push(msg)));
        const sent = await c.groups[1]![flavour]('POS', Uint8Array.of(1, 2, 3));
        assert.match(sent.id, /^p1\/1:\d+:\d+$/);
        await c.groups[1]![flavour]('POS', 'text');
        await c.groups[1]![flavour]('POS', { x: 1, y: [2] });
        await waitFor(() => seen.every((list) => list.length === 3), 'three deliveries at every member');
        for (const list of seen) {
          assert.deepEqual(
            list.map((msg) => msg.data),
            [Uint8Array.of(1, 2, 3), 'text', { x: 1, y: [2] }],
          );
          assert.equal(list[0]!.id, sent.id);
          assert.equal(list[0]!.sender, 'p1/1');
          assert.equal(list[0]!.kind, 'POS');
          assert.equal(list[0]!.order, { fbcast: 'fifo', cbcast: 'causal', abcast: 'total', safe: 'safe' }[flavour]);
          assert.equal(list[0]!.wantsReply, false);
        }
      } finally {
        await c.close();
      }
    });
  }

  it('abcast: every member delivers concurrent messages in the same order', async () => {
    const c = await cluster(3);
    try {
      const orders: string[][] = c.groups.map(() => []);
      c.groups.forEach((group, i) => group.handle<string>('SEQ', (msg) => void orders[i]!.push(msg.data)));
      const sends: Promise<unknown>[] = [];
      for (let n = 0; n < 20; n++) c.groups.forEach((group, i) => sends.push(group.abcast('SEQ', `${i}.${n}`)));
      await Promise.all(sends);
      await waitFor(() => orders.every((list) => list.length === 60), '60 deliveries at every member');
      assert.deepEqual(orders[1], orders[0]);
      assert.deepEqual(orders[2], orders[0]);
      // FIFO per sender within the total order.
      for (let i = 0; i < 3; i++) {
        const mine = orders[0]!.filter((entry) => entry.startsWith(`${i}.`));
        assert.deepEqual(mine, Array.from({ length: 20 }, (_, n) => `${i}.${n}`));
      }
    } finally {
      await c.close();
    }
  });

  it('a kept message holds no view into the frames it came in (which would pin their pooled slab)', async () => {
    const c = await cluster(3);
    try {
      await agreeOnView(c.groups, 3);
      const kept: Message[] = [];
      c.groups[1]!.handle('KEEP', (msg) => void kept.push(msg));
      for (let i = 0; i < 40; i++) void c.groups[0]!.abcast('KEEP', new Uint8Array(100).fill(i));
      await waitFor(() => kept.length === 40, 'the kept messages');
      // Every byte array a message reaches through its fields, or theirs (but for the group it
      // belongs to), is in a small slab or a buffer of its own, never in the 256 KiB slabs frames
      // are carved from.
      const check = (value: unknown, depth: number, path: string): void => {
        if (value instanceof Uint8Array) assert.ok(value.buffer.byteLength <= 16 * 1024, `${path}: a ${value.buffer.byteLength}-byte buffer`);
        else if (depth < 2 && value !== null && typeof value === 'object') {
          for (const [key, field] of Object.entries(value)) if (key !== 'runtime' && key !== 'incarnation' && key !== 'monitor') check(field, depth + 1, `${path}.${key}`);
        }
      };
      for (const msg of kept) {
        check(msg, 0, 'message');
        assert.equal((msg.data as Uint8Array)[0], kept.indexOf(msg));
      }
    } finally {
      await c.close();
    }
  });

  it('a 1 MB message crosses a lossy hub in fragments, intact, to every member', async () => {
    const c = await cluster(3);
    try {
      const sizes: number[] = [];
      c.groups.forEach((group) => group.handle<Uint8Array>('BIG', (msg) => void sizes.push(msg.data.length, msg.data[999_999]!)));
      c.hub.setLoss(0.1);
      const big = new Uint8Array(1_000_000).fill(7);
      const replies = await c.groups[1]!.safe('BIG', big);
      assert.ok(replies.id);
      await waitFor(() => sizes.length === 6, 'three deliveries of the big message', 10_000);
      assert.deepEqual(sizes, [1_000_000, 7, 1_000_000, 7, 1_000_000, 7]);
      c.hub.setLoss(0);
    } finally {
      await c.close();
    }
  });

  it("gathers replies: 'all', 'majority' and a number", async () => {
    const c = await cluster(3);
    try {
      c.groups.forEach((group) => group.handle<number>('ADD', (msg) => msg.reply(msg.data + 1)));
      const all = await c.groups[0]!.abcast<number>('ADD', 41, { replies: 'all' });
      assert.deepEqual(all.map((reply) => reply.sender).sort(), ['p0/1', 'p1/1', 'p2/1']);
      assert.ok(all.every((reply) => reply.data === 42));
      const majority = await c.groups[1]!.fbcast('ADD', 1, { replies: 'majority' });
      assert.equal(majority.length, 2);
      const one = await c.groups[2]!.safe('ADD', 1, { replies: 1 });
      assert.equal(one.length, 1);
      const fromCausal = await c.groups[2]!.cbcast('ADD', 1, { replies: 'all', timeoutMs: 2000 });
      assert.equal(fromCausal.length, 3);
    } finally {
      await c.close();
    }
  });

  it("members without a handler, or that decline, do not hold up 'all'", async () => {
    const c = await cluster(3);
    try {
      c.groups[0]!.handle('ASK', (msg) => msg.reply('yes'));
      c.groups[1]!.handle('ASK', () => undefined); // declines
      // p2 has no handler for ASK: it answers 'no handler'.
      const replies = await c.groups[0]!.abcast('ASK', undefined, { replies: 'all', timeoutMs: 2000 });
      assert.deepEqual(
        replies.map((reply) => [reply.sender, reply.data]),
        [['p0/1', 'yes']],
      );
    } finally {
      await c.close();
    }
  });

  it("a killed member leaves the view and 'all' completes without it", async () => {
    const c = await cluster(3);
    try {
      c.groups[0]!.handle('CLAIM', (msg) => msg.reply('p0'));
      c.groups[1]!.handle('CLAIM', (msg) => msg.reply('p1'));
      let p2Delivered = false;
      c.groups[2]!.handle('CLAIM', () => {
        p2Delivered = true;
        return new Promise(() => undefined); // never replies
      });
      const views: ViewChange[] = [];
      c.groups[0]!.on('view', (view) => views.push(view));
      const request = c.groups[0]!.abcast('CLAIM', 'x', { replies: 'all' });
      await waitFor(() => p2Delivered, 'p2 to deliver the request');
      c.hub.kill('p2', { silent: true }); // only failure detection can tell
      const replies = await request;
      assert.deepEqual(replies.map((reply) => reply.data).sort(), ['p0', 'p1']);
      await waitFor(() => views.length > 0, 'a view change');
      assert.deepEqual(views.at(-1)!.members, ['p0/1', 'p1/1']);
      assert.deepEqual(views.at(-1)!.left, ['p2/1']);
    } finally {
      await c.close();
    }
  });

  it('rejects a request with TIMEOUT when replies do not come in time', async () => {
    const c = await cluster(2);
    try {
      c.groups.forEach((group) => group.handle('SLOW', () => new Promise(() => undefined)));
      await assert.rejects(c.groups[0]!.abcast('SLOW', 1, { replies: 'all', timeoutMs: 100 }), { name: 'SynodError', code: 'TIMEOUT' });
    } finally {
      await c.close();
    }
  });

  it('state transfer: a joiner loads the state saved at the cut where it enters', async () => {
    const hub = createHub();
    const peers = await Promise.all(['s0', 's1'].map((id) => createPeer({ transport: memory({ hub, id }), trace: false })));
    try {
      let counter = 0;
      const encode = (n: number) => new TextEncoder().encode(String(n));
      const founder = await peers[0]!.join('counter', {
        ...timing,
        state: { save: () => encode(counter), load: () => assert.fail('the founder loads nothing') },
      });
      founder.handle('INC', () => void counter++);
      for (let i = 0; i < 5; i++) await founder.abcast('INC');
      let joinerCounter = -1;
      const loads: number[] = [];
      const joiner = await peers[1]!.join('counter', {
        ...timing,
        state: {
          save: () => encode(joinerCounter),
          load: async (bytes) => {
            await sleep(10); // an async load still runs before any later upcall
            joinerCounter = Number(new TextDecoder().decode(bytes));
            loads.push(joinerCounter);
          },
        },
      });
      // join() resolved only after the state was loaded.
      assert.deepEqual(loads, [5]);
      joiner.handle('INC', () => void joinerCounter++);
      await founder.abcast('INC');
      await waitFor(() => joinerCounter === 6 && counter === 6, 'both counters at 6');
    } finally {
      await Promise.all(peers.map((peer) => peer.close()));
    }
  });

  it('leave: the others install a view without the leaver, which can no longer send', async () => {
    const c = await cluster(3);
    try {
      const left: string[] = [];
      c.groups[2]!.on('left', (event) => left.push(`${event.memberId} ${event.reason.code}`));
      await c.groups[2]!.leave();
      assert.deepEqual(left, ['p2/1 NOT_JOINED'], "'left' before leave() resolves");
      await c.groups[2]!.leave(); // idempotent
      assert.equal(left.length, 1);
      await agreeOnView(c.groups.slice(0, 2), 2);
      assert.deepEqual(c.groups[0]!.view!.members, ['p0/1', 'p1/1']);
      await assert.rejects(c.groups[2]!.fbcast('X', 1), { name: 'SynodError', code: 'NOT_JOINED' });
      assert.equal(c.peers[2]!.groups.has('g'), false);
      // The peer can join again, under a new member id.
      const again = await c.peers[2]!.join('g', timing);
      assert.equal(again.memberId, 'p2/2');
      await agreeOnView([c.groups[0]!, c.groups[1]!, again], 3);
    } finally {
      await c.close();
    }
  });

  it('a member cut off by a partition is excluded and rejoins under a new id', async () => {
    const c = await cluster(3);
    try {
      const events: string[] = [];
      const p2 = c.groups[2]!;
      p2.on('minority', () => events.push('minority'));
      p2.on('excluded', (event) => events.push(`excluded ${event.memberId}`));
      const rejoined = new Promise<{ memberId: string; previousMemberId: string }>((resolve) => p2.on('rejoined', resolve));
      c.hub.partition([['p0', 'p1'], ['p2']]);
      await agreeOnView(c.groups.slice(0, 2), 2);
      await waitFor(() => events.includes('minority'), 'p2 to find itself in a minority');
      c.hub.heal();
      const event = await rejoined;
      assert.deepEqual(event, { memberId: 'p2/2', previousMemberId: 'p2/1', view: p2.view });
      assert.ok(events.includes('excluded p2/1'));
      assert.equal(p2.memberId, 'p2/2');
      await agreeOnView(c.groups, 3);
      // The rejoined member takes part in requests again.
      c.groups.forEach((group) => group.handle('PING', (msg) => msg.reply(group.memberId)));
      const replies = await c.groups[0]!.abcast('PING', undefined, { replies: 'all', timeoutMs: 2000 });
      assert.deepEqual(replies.map((reply) => reply.data).sort(), ['p0/1', 'p1/1', 'p2/2']);
    } finally {
      await c.close();
    }
  });

  it('handlers run as a monitor: one at a time, in delivery order, unless one leaves the monitor', async () => {
    const c = await cluster(2);
    try {
      const log: string[] = [];
      let active = 0;
      let maxActive = 0;
      c.groups[1]!.handle<number>('WORK', async (msg) => {
        active++;
        maxActive = Math.max(maxActive, active);
        log.push(`start ${msg.data}`);
        await sleep(msg.data === 0 ? 30 : 1);
        log.push(`end ${msg.data}`);
        active--;
      });
      for (let i = 0; i < 4; i++) await c.groups[0]!.abcast('WORK', i);
      await waitFor(() => log.length === 8, 'four handlers');
      assert.equal(maxActive, 1);
      assert.deepEqual(log, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);

      const released: string[] = [];
      let finishFirst!: () => void;
      c.groups[1]!.handle<string>('LONG', async (msg) => {
        released.push(`start ${msg.data}`);
        if (msg.data === 'a') {
          msg.leaveMonitor();
          await new Promise<void>((resolve) => (finishFirst = resolve));
        }
        released.push(`end ${msg.data}`);
      });
      await c.groups[0]!.abcast('LONG', 'a');
      await c.groups[0]!.abcast('LONG', 'b');
      await waitFor(() => released.length === 3, 'b to run while a is still going');
      assert.deepEqual(released, ['start a', 'start b', 'end b']);
      finishFirst();
      await waitFor(() => released.length === 4, 'a to finish');
    } finally {
      await c.close();
    }
  });

  it("deliveries without a handler go to 'message' listeners", async () => {
    const c = await cluster(2);
    try {
      const got: Message[] = [];
      c.groups[1]!.on('message', (msg) => void got.push(msg));
      await c.groups[0]!.fbcast('NEWS', 'hello');
      await waitFor(() => got.length === 1, 'the message');
      assert.equal(got[0]!.kind, 'NEWS');
      assert.equal(got[0]!.data, 'hello');
      assert.equal(c.groups[0]!.stats.unhandled, 1); // the sender had neither
    } finally {
      await c.close();
    }
  });

  it('writes a JSONL trace of views and deliveries through the trace callback', async () => {
    const hub = createHub();
    const lines: string[] = [];
    const peer = await createPeer({ transport: memory({ hub, id: 't0' }), trace: (line) => lines.push(line) });
    try {
      const group = await peer.join('traced', timing);
      await group.abcast('X', 1);
      await waitFor(() => lines.length === 2, 'two trace records');
      assert.deepEqual(JSON.parse(lines[0]!), { t: 'view', group: 'traced', member: 't0/1', viewId: 1, members: ['t0/1'] });
      assert.deepEqual(JSON.parse(lines[1]!), {
        t: 'deliver',
        group: 'traced',
        member: 't0/1',
        viewId: 1,
        sender: 't0/1',
        order: 'total',
        id: 't0/1:1:1',
      });
    } finally {
      await peer.close();
    }
  });

  it('misuse throws a SynodError with a code', async () => {
    const c = await cluster(1, { join: () => ({ maxMessageBytes: 4096 }) });
    const group: Group = c.groups[0]!;
    const peer = c.peers[0]!;
    try {
      await assert.rejects(peer.join('g'), { code: 'ALREADY_JOINED' });
      await assert.rejects(peer.join(''), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(peer.join('x'.repeat(256)), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(peer.join('h', { state: {} as never }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.fbcast('', 1), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.fbcast(42 as never, 1), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.fbcast('K', (() => 1) as never), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.fbcast('K', new Uint16Array(2) as never), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.abcast('K', 1, { replies: 0 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.abcast('K', 1, { replies: 'most' as never }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.abcast('K', 1, { replies: 'all', timeoutMs: -1 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.abcast('K', 1, { timeoutMs: 10 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(group.fbcast('K', new Uint8Array(5000)), { code: 'MESSAGE_TOO_LARGE' });
      group.handle('K', () => undefined);
      assert.throws(() => group.handle('K', () => undefined), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => group.handle('L', 'nope' as never), { code: 'INVALID_ARGUMENT' });
      assert.throws(() => group.on('nope' as never, (() => undefined) as never), { code: 'INVALID_ARGUMENT' });
      // A message that asked for no replies cannot be answered.
      let replyError: unknown;
      group.handle('R', (msg) => {
        try {
          msg.reply(1);
        } catch (error) {
          replyError = error;
        }
      });
      await group.fbcast('R');
      await waitFor(() => replyError !== undefined, 'the handler');
      assert.ok(replyError instanceof SynodError && replyError.code === 'INVALID_ARGUMENT');

      await group.leave();
      await assert.rejects(group.abcast('K', 1), { code: 'NOT_JOINED' });
      await peer.close();
      await assert.rejects(peer.join('g'), { code: 'CLOSED' });
      await assert.rejects(createPeer({} as never), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(createPeer({ transport: memory({ hub: createHub(), id: 'q' }), id: 'other', trace: false }), {
        code: 'INVALID_ARGUMENT',
      });
    } finally {
      await c.close();
    }
  });

  it('the peer layer drops and counts frames of unknown groups and spoofed senders', async () => {
    const c = await cluster(2);
    try {
      const before = { ...c.peers[1]!.stats };
      c.hub.inject('p0', 'p1', Uint8Array.of(9, 9, 9));
      c.hub.inject('p0', 'p1', new Uint8Array([1, 1, 0x67, 4, 0x70, 0x31, 0x2f, 0x31, 0])); // group g, sender p1/1 from p0
      c.hub.inject('p0', 'p1', new Uint8Array([1, 1, 0x68, 4, 0x70, 0x30, 0x2f, 0x31, 0])); // group h
      await c.hub.settle();
      const after = c.peers[1]!.stats;
      assert.equal(after.droppedMalformed, before.droppedMalformed + 1);
      assert.equal(after.droppedSpoofed, before.droppedSpoofed + 1);
      assert.equal(after.droppedUnknownGroup, before.droppedUnknownGroup + 1);
      // Garbage inside a well-formed envelope reaches the core, which drops and counts it too.
      const coreBefore = c.groups[1]!.stats.droppedMalformed;
      c.hub.inject('p0', 'p1', new Uint8Array([1, 1, 0x67, 4, 0x70, 0x30, 0x2f, 0x31, 0xde, 0xad]));
      await c.hub.settle();
      await sleep(1);
      assert.equal(c.groups[1]!.stats.droppedMalformed, coreBefore + 1);
      await agreeOnView(c.groups, 2);
    } finally {
      await c.close();
    }
  });
});
