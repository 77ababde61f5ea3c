// The runtime (peer + group) against a scripted fake core and a fake clock: timers, batching,
// upcall sequencing, join readiness, exclusion. The real core is exercised in test/.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemberConfig, MemberId, MemberStats, Order, Output, Upcall, View } from '@synod/core';
import { SynodError } from '@synod/core';
import { createHub, memory, type Hub } from '@synod/transport-memory';
import type { Clock } from './clock.js';
import { encodeFrame, envelopeHeader } from './envelope.js';
import { encodeStateParts, type Group, type MemberLike } from './group.js';
import { encodeBody, encodeMessage } from './payload.js';
import { createPeerWith, type Peer } from './peer.js';

class FakeClock implements Clock {
  nowMs = 1000;
  private nextHandle = 1;
  readonly timers = new Map<number, { atMs: number; callback: () => void }>();
  maxLiveTimers = 0;
  now = () => this.nowMs;
  setTimer = (callback: () => void, delayMs: number): unknown => {
    const handle = this.nextHandle++;
    this.timers.set(handle, { atMs: this.nowMs + delayMs, callback });
    this.maxLiveTimers = Math.max(this.maxLiveTimers, this.timers.size);
    return handle;
  };
  clearTimer = (handle: unknown): void => void this.timers.delete(handle as number);
  /** Advance time, firing due timers in order. */
  advance(ms: number): void {
    this.nowMs += ms;
    for (;;) {
      const due = [...this.timers].filter(([, timer]) => timer.atMs <= this.nowMs).sort((a, b) => a[1].atMs - b[1].atMs)[0];
      if (!due) return;
      this.timers.delete(due[0]);
      due[1].callback();
    }
  }
}

class FakeMember implements MemberLike {
  readonly self: MemberId;
  readonly stats: MemberStats = { droppedMalformed: 0, droppedNonMember: 0, droppedStale: 0, retransmitsSent: 0, naksSent: 0, viewChanges: 0, packedMessages: 0 };
  readonly calls: string[] = [];
  readonly received: { from: MemberId; bytes: Uint8Array }[] = [];
  readonly provided: { xferId: string; bytes: Uint8Array }[] = [];
  upcalls: Upcall[] = [];
  wakeAtMs: number | undefined;
  takeOutputCalls = 0;
  contacts: readonly MemberId[] = [];
  private nextLocalId = 1;
  constructor(readonly config: MemberConfig) {
    this.self = config.self;
  }
  join(contacts: readonly MemberId[]): void {
    this.contacts = contacts;
    this.calls.push('join');
  }
  send(order: Order, _payload: Uint8Array): number {
    this.calls.push(`send ${order}`);
    return this.nextLocalId++;
  }
  leave(): void {
    this.calls.push('leave');
  }
  receive(from: MemberId, bytes: Uint8Array): void {
    this.received.push({ from, bytes });
  }
  linkDown(peer: MemberId): void {
    this.calls.push(`linkDown ${peer}`);
  }
  tick(nowMs: number): void {
    this.calls.push(`tick ${nowMs}`);
  }
  provideState(xferId: string, bytes: Uint8Array): void {
    this.provided.push({ xferId, bytes });
  }
  takeOutput(): Output {
    this.takeOutputCalls++;
    const output = { sends: [], upcalls: this.upcalls, wakeAtMs: this.wakeAtMs };
    this.upcalls = [];
    return output;
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function setup(): Promise<{ hub: Hub; clock: FakeClock; members: FakeMember[]; peer: Peer }> {
  const hub = createHub();
  const clock = new FakeClock();
  const members: FakeMember[] = [];
  const peer = await createPeerWith(
    { transport: memory({ hub, id: 'me' }), trace: false },
    {
      clock,
      memberFactory: (config) => {
        const member = new FakeMember(config);
        members.push(member);
        return member;
      },
    },
  );
  return { hub, clock, members, peer };
}

/** setup(), then group 'g' joined alone in view 1 (its first member is `first`), past the post-join pause. */
async function joinedAlone() {
  const context = await setup();
  const joining = context.peer.join('g');
  await flush();
  const first = context.members[0]!;
  first.upcalls.push(view(1, ['me/1']));
  await poke(context.hub);
  const group = await joining;
  context.clock.advance(1);
  return { ...context, first, group };
}

function view(viewId: number, members: MemberId[]): Upcall {
  return { type: 'view', view: { group: 'g', viewId, members }, joined: [], left: [] };
}

function deliver(sender: MemberId, kind: string, data: unknown, seqno: number): Upcall {
  return {
    type: 'deliver',
    viewId: 1,
    sender,
    order: 'total',
    id: `${sender}:1:${seqno}`,
    seqno,
    part: -1,
    payload: encodeMessage(kind, undefined, encodeBody(data)),
  };
}

/** Make the runtime drain its member: any input does; a frame from the network is the simplest. */
async function poke(hub: Hub): Promise<void> {
  hub.inject('poker', 'me', encodeFrame(envelopeHeader('g', 'poker/1'), Uint8Array.of(0)));
  await hub.settle();
  await flush();
}

describe('runtime against a fake core', () => {
  it('founds: join resolves at the first view; one timer per member, moved not multiplied', async () => {
    const { hub, clock, members, peer } = await setup();
    const joining = peer.join('g');
    await flush();
    const member = members[0]!;
    assert.equal(member.self, 'me/1');
    assert.deepEqual(member.calls, ['join']);
    assert.ok(member.config.mtuBytes! < 16 * 1024, 'the envelope is taken off the MTU');
    member.upcalls.push(view(1, ['me/1']));
    member.wakeAtMs = clock.nowMs + 20;
    await poke(hub);
    const group = await joining;
    assert.equal(group.view?.viewId, 1);
    clock.advance(0); // the pause after join, which lets the app register handlers
    assert.equal(clock.timers.size, 1);
    for (let i = 1; i <= 5; i++) {
      member.wakeAtMs = clock.nowMs + 20 + i;
      await poke(hub); // reschedules: still one timer
      assert.equal(clock.timers.size, 1);
      clock.advance(20 + i);
      await flush();
    }
    assert.equal(member.calls.filter((call) => call.startsWith('tick')).length, 5);
    member.wakeAtMs = undefined;
    await poke(hub);
    assert.equal(clock.timers.size, 0, 'no wake-up wanted, no timer');
    await peer.close({ leave: false });
  });

  it('feeds datagrams that arrive together before draining once', async () => {
    const { hub, members, peer } = await setup();
    void peer.join('g').catch(() => undefined);
    await flush();
    const member = members[0]!;
    const other = memory({ hub, id: 'other' });
    await other.start();
    const outputsBefore = member.takeOutputCalls;
    const frame = encodeFrame(envelopeHeader('g', 'other/1'), Uint8Array.of(1));
    for (let i = 0; i < 10; i++) other.send('me', frame);
    await hub.settle();
    await flush();
    assert.equal(member.received.length, 10);
    assert.equal(member.received[0]!.from, 'other/1');
    assert.equal(member.takeOutputCalls - outputsBefore, 1);
    await peer.close({ leave: false });
    await other.close();
  });

  it('a joiner resolves only after loadState; saveState snapshots after earlier handlers ran', async () => {
    const { hub, clock, members, peer } = await setup();
    const log: string[] = [];
    let counter = 0;
    const joining = peer.join('g', {
      state: {
        save: () => (log.push(`save ${counter}`), Uint8Array.of(counter)),
        load: async (bytes) => {
          await flush();
          counter = bytes[0]!;
          log.push(`load ${counter}`);
        },
      },
    });
    let resolved = false;
    void joining.then(() => (resolved = true));
    await flush();
    const member = members[0]!;
    member.upcalls.push(view(2, ['a/1', 'me/1']));
    await poke(hub);
    await flush();
    assert.equal(resolved, false, 'a joiner waits for its state');
    member.upcalls.push({ type: 'loadState', state: encodeStateParts([['', Uint8Array.of(5)]]) });
    await poke(hub);
    const group = await joining;
    assert.deepEqual(log, ['load 5']);
    group.handle('INC', async () => {
      await flush();
      counter++;
    });
    member.upcalls.push(deliver('a/1', 'INC', 1, 1), deliver('a/1', 'INC', 1, 2), { type: 'saveState', xferId: '3' });
    await poke(hub);
    clock.advance(1); // the post-join pause
    for (let i = 0; i < 10 && member.provided.length === 0; i++) await flush();
    assert.deepEqual(log, ['load 5', 'save 7']);
    assert.deepEqual(member.provided, [{ xferId: '3', bytes: encodeStateParts([['', Uint8Array.of(7)]]) }]);
    await peer.close({ leave: false });
  });

  it("resolves sends at 'sent'; exclusion rejects the rest and rejoins under a new id", async () => {
    const { hub, clock, members, peer, first, group } = await joinedAlone();
    const events: string[] = [];
    group.on('excluded', (event) => events.push(`excluded ${event.memberId} ${event.reason}`));
    group.on('rejoined', (event) => events.push(`rejoined ${event.memberId} after ${event.previousMemberId}`));
    const sent = group.abcast('K', 'x');
    const lost = assert.rejects(group.fbcast('K', 'y'), (error: unknown) => error instanceof SynodError && error.code === 'EXCLUDED');
    await flush();
    assert.deepEqual(first.calls.slice(-2), ['send total', 'send fifo']);
    first.upcalls.push({ type: 'sent', localId: 1, id: 'me/1:1:1' }, { type: 'excluded', reason: 'partition' });
    await poke(hub);
    assert.deepEqual(await sent, { id: 'me/1:1:1' });
    await lost;
    await flush();
    const second = members[1]!;
    assert.equal(second.self, 'me/2');
    assert.equal(group.memberId, 'me/2');
    assert.deepEqual(second.calls, ['join']);
    second.upcalls.push(view(5, ['a/1', 'me/2']), { type: 'loadState', state: new Uint8Array() });
    await poke(hub);
    for (let i = 0; i < 10 && events.length < 2; i++) await flush();
    assert.deepEqual(events, ['excluded me/1 partition', 'rejoined me/2 after me/1']);
    assert.deepEqual((group.view as View).members, ['a/1', 'me/2']);
    await peer.close({ leave: false });
  });

  it("'left': once, after the earlier upcalls and before leave() resolves; not on exclusion", async () => {
    const { hub, clock, members, peer, first, group } = await joinedAlone();
    const log: string[] = [];
    const reasons: unknown[] = [];
    group.on('left', (event) => {
      log.push(`left ${event.memberId}`);
      reasons.push(event.reason);
    });
    group.handle('K', async () => {
      await flush();
      log.push('handled K');
    });
    // An exclusion is not the end: the group rejoins under a new id.
    first.upcalls.push({ type: 'excluded', reason: 'partition' });
    await poke(hub);
    const second = members[1]!;
    second.upcalls.push(view(3, ['a/1', 'me/2']), { type: 'loadState', state: new Uint8Array() });
    await poke(hub);
    for (let i = 0; i < 10 && group.memberId !== 'me/2'; i++) await flush();
    assert.equal(group.memberId, 'me/2');
    const leaving = group.leave().then(() => log.push('leave resolved'));
    await flush();
    assert.ok(second.calls.includes('leave'));
    second.upcalls.push(deliver('a/1', 'K', 1, 1), { type: 'left', cutOff: false });
    await poke(hub);
    await leaving;
    assert.deepEqual(log, ['handled K', 'left me/2', 'leave resolved']);
    assert.ok(reasons[0] instanceof SynodError && reasons[0].code === 'NOT_JOINED');
    await peer.close();
    clock.advance(10_000);
    assert.equal(log.filter((entry) => entry.startsWith('left')).length, 1, 'emitted once');
  });

  it("'left' when leave() times out, when the join fails, and when the peer closes", async () => {
    const { hub, clock, members, peer } = await setup();
    const events: string[] = [];
    const record = (group: Group) => void group.on('left', (event) => events.push(`${group.name} ${event.memberId} ${event.reason.code}`));
    const pokeGroup = async (name: string) => {
      hub.inject('poker', 'me', encodeFrame(envelopeHeader(name, 'poker/1'), Uint8Array.of(0)));
      await hub.settle();
      await flush();
    };
    // Nobody acknowledges the leave: the leave timer ends the group.
    const joiningA = peer.join('a', { leaveTimeoutMs: 100, setup: record });
    await flush();
    members[0]!.upcalls.push({ type: 'view', view: { group: 'a', viewId: 1, members: ['me/1'] }, joined: [], left: [] });
    await pokeGroup('a');
    const leavingA = (await joiningA).leave();
    clock.advance(100);
    await leavingA;
    assert.deepEqual(events, ['a me/1 NOT_JOINED']);
    // A state that does not load fails the join, which leaves.
    const failing = { save: () => new Uint8Array(), load: () => Promise.reject(new Error('bad state')) };
    const failedB = assert.rejects(peer.join('b', { state: failing, setup: record }), /bad state/);
    await flush();
    members[1]!.upcalls.push(
      { type: 'view', view: { group: 'b', viewId: 2, members: ['x/1', 'me/2'] }, joined: [], left: [] },
      { type: 'loadState', state: encodeStateParts([['', Uint8Array.of(1)]]) },
    );
    await pokeGroup('b');
    await failedB;
    await flush();
    assert.ok(members[1]!.calls.includes('leave'));
    members[1]!.upcalls.push({ type: 'left', cutOff: false });
    await pokeGroup('b');
    for (let i = 0; i < 10 && events.length < 2; i++) await flush();
    assert.deepEqual(events, ['a me/1 NOT_JOINED', 'b me/2 NOT_JOINED']);
    // The peer closes without leaving: every group ends at once, still joining or not.
    void peer.join('c', { setup: record }).catch(() => undefined);
    await flush();
    await peer.close({ leave: false });
    assert.deepEqual(events, ['a me/1 NOT_JOINED', 'b me/2 NOT_JOINED', 'c me/3 CLOSED']);
  });

  it('passes transport link-down to the members of the view at that address', async () => {
    const { hub, members, peer } = await setup();
    const other = memory({ hub, id: 'a' });
    await other.start();
    const joining = peer.join('g', { contacts: [] });
    await flush();
    const member = members[0]!;
    member.upcalls.push(view(1, ['a/1', 'b/1', 'me/1']));
    await poke(hub);
    member.upcalls.push({ type: 'loadState', state: new Uint8Array() });
    await poke(hub);
    await joining;
    await other.close();
    await hub.settle();
    await flush();
    assert.ok(member.calls.includes('linkDown a/1'));
    assert.ok(!member.calls.includes('linkDown b/1'));
    await peer.close({ leave: false });
  });
});
