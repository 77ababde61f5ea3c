/**
 * The distributed snapshot in the deterministic World: members of a bank pass money by fbcast
 * while snapshots are taken (some concurrently, from random members) under loss, duplication and
 * reordering, and while members crash. Every cut is checked (snapshot-checker.ts): no payment
 * delivered before it was sent, channels hold exactly what was in flight, money conserved. A
 * failing seed is printed: SNAP_SEED=<seed> replays it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynodError } from '@synod/core';
import type { Group, JoinOptions, Peer } from '@synod/peer';
import type { Prng } from '@synod/sim';
import { World } from '@synod/sim/world';
import { distributedSnapshot, type SnapshotCut, type DistributedSnapshot } from '../src/snapshot.js';
import { checkCut, type Payment } from './snapshot-checker.js';

const timing = { heartbeatMs: 20, suspectAfterMs: 400, retransmitMs: 10, discoveryMs: 100, flushTimeoutMs: 300 } satisfies JoinOptions;
const encoder = new TextEncoder();
const START_BALANCE = 100;

class Bank {
  balance = START_BALANCE;
  readonly sent: Payment[] = [];
  readonly delivered: string[] = [];
  private next = 0;
  paying = true;
  constructor(readonly peer: Peer) {}
  group!: Group;
  snapshot!: DistributedSnapshot;

  save = (): Uint8Array => encoder.encode(JSON.stringify({ balance: this.balance, sent: this.sent, delivered: this.delivered }));

  /** Pays a random member now and then, on the peer's clock (a crash stops it). */
  payNowAndThen(prng: Prng): void {
    this.group.clock.setTimer(() => {
      const members = this.group.view?.members;
      if (!this.paying) return;
      if (members && this.balance > 0) {
        const payment: Payment = { id: `${this.group.memberId}-${this.next++}`, to: prng.pick(members), amount: prng.int(1, Math.min(10, this.balance)) };
        // The state changes in the same synchronous step as the send.
        this.balance -= payment.amount;
        this.sent.push(payment);
        void this.group.fbcast('PAY', { ...payment }).catch(() => undefined);
      }
      this.payNowAndThen(prng);
    }, prng.int(2, 12));
  }
}

async function bank(world: World, size: number): Promise<Bank[]> {
  const banks = (await world.peers(size)).map((peer) => new Bank(peer));
  const joined = banks.map((member) =>
    member.peer.join('bank', {
      ...timing,
      setup: (group) => {
        member.group = group;
        member.snapshot = distributedSnapshot(group, { save: member.save });
        member.snapshot.handle<Payment>('PAY', (message) => {
          member.delivered.push(message.data.id);
          if (message.data.to === group.memberId) member.balance += message.data.amount;
        });
      },
    }),
  );
  await world.settle(Promise.all(joined), 'the bank to form');
  await world.until(() => banks.every((member) => member.group.view?.members.length === size), 'a full view');
  return banks;
}

const seedsFrom = (variable: string, count: number, first: number): number[] =>
  process.env[variable] ? [Number(process.env[variable])] : Array.from({ length: count }, (_, i) => first + i);

describe('distributed snapshot in the simulator', () => {
  it('cuts are consistent and conserve money under loss, duplication and reordering', { timeout: 120_000 }, async () => {
    const seeds = seedsFrom('SNAP_SEED', Number(process.env['SNAP_SEEDS'] ?? 40), Number(process.env['SNAP_FIRST_SEED'] ?? 2000));
    let cuts = 0;
    let inFlight = 0;
    for (const seed of seeds) {
      const probe = new World({ seed });
      const world = new World({ seed, lossRate: probe.prng.pick([0, 0.02, 0.05]), duplicateRate: probe.prng.pick([0, 0.03]), jitterMs: 6 });
      const prng = world.prng.derive('scenario');
      const size = prng.int(2, 5);
      const banks = await bank(world, size);
      const firstView = banks[0]!.group.view!.viewId;
      for (const member of banks) member.payNowAndThen(prng.derive(member.peer.id));
      const taken: Promise<SnapshotCut>[] = [];
      for (let i = 0; i < 4; i++) {
        await world.run(prng.int(0, 60)); // 0: two snapshots at once
        taken.push(prng.pick(banks).snapshot.take({ timeoutMs: 5_000 }));
      }
      let results: SnapshotCut[];
      try {
        results = await world.settle(Promise.all(taken), 'the snapshots');
      } catch (error) {
        assert.fail(`SNAP_SEED=${seed}: ${String(error)}`);
      }
      const viewChanged = banks.some((member) => member.group.view?.viewId !== firstView);
      for (const cut of results) {
        const violations = checkCut(cut, viewChanged ? {} : { total: START_BALANCE * size });
        assert.deepEqual(violations, [], `SNAP_SEED=${seed} (${world.describe()}) cut ${cut.id}`);
        inFlight += cut.channels.reduce((sum, channel) => sum + channel.messages.length, 0);
        cuts++;
      }
      for (const member of banks) member.paying = false;
    }
    console.log(`snapshot sim: ${seeds.length} seeds, ${cuts} consistent cuts, ${inFlight} messages recorded in flight`);
    assert.ok(inFlight > 0, 'some cuts caught messages in flight');
  });

  it('a snapshot interrupted by a crash completes among the survivors, or fails with VIEW_CHANGED', { timeout: 120_000 }, async () => {
    const seeds = seedsFrom('SNAP_CRASH_SEED', Number(process.env['SNAP_CRASH_SEEDS'] ?? 20), Number(process.env['SNAP_FIRST_SEED'] ?? 3000));
    const outcomes = { completed: 0, restarted: 0, viewChanged: 0 };
    for (const seed of seeds) {
      const world = new World({ seed, lossRate: 0.02 });
      const prng = world.prng.derive('scenario');
      const banks = await bank(world, 5);
      for (const member of banks) member.payNowAndThen(prng.derive(member.peer.id));
      await world.run(prng.int(10, 50));
      const initiator = prng.pick(banks);
      const victim = prng.pick(banks.filter((member) => member !== initiator));
      const attempts = prng.pick([1, 3]);
      const taking = initiator.snapshot.take({ attempts, timeoutMs: 10_000 });
      await world.run(prng.real(0, 6));
      world.crash(victim.peer);
      try {
        const cut = await world.settle(taking, 'the snapshot');
        const violations = checkCut(cut);
        assert.deepEqual(violations, [], `SNAP_CRASH_SEED=${seed} (${world.describe()})`);
        outcomes.completed++;
        if (!cut.members.includes(victim.group.memberId)) outcomes.restarted++;
      } catch (error) {
        if (!(error instanceof SynodError) || error.code !== 'VIEW_CHANGED') assert.fail(`SNAP_CRASH_SEED=${seed}: ${String(error)}`);
        assert.equal(attempts, 1, `SNAP_CRASH_SEED=${seed}: VIEW_CHANGED although attempts were left`);
        outcomes.viewChanged++;
      }
      for (const member of banks) member.paying = false;
    }
    console.log(`snapshot sim with a crash: ${seeds.length} seeds, ${outcomes.completed} completed (${outcomes.restarted} restarted among the survivors), ${outcomes.viewChanged} VIEW_CHANGED`);
    assert.ok(outcomes.restarted > 0 && outcomes.viewChanged > 0, 'both outcomes were exercised');
  });

  it('the checker rejects an inconsistent cut and a channel that misses a message in flight', () => {
    const state = (balance: number, sent: Payment[], delivered: string[]) => encoder.encode(JSON.stringify({ balance, sent, delivered }));
    const pay: Payment = { id: 'a/1-0', to: 'b/1', amount: 10 };
    const consistent = {
      members: ['a/1', 'b/1'],
      states: new Map([['a/1', state(90, [pay], [pay.id])], ['b/1', state(100, [], [])]]),
      channels: [{ from: 'a/1', to: 'b/1', messages: [{ sender: 'a/1', kind: 'PAY', id: 'x', data: pay }] }],
    };
    assert.deepEqual(checkCut(consistent, { total: 200 }), []);
    // b's state has received a payment that a's state has not sent yet: the cut is not consistent.
    const effectBeforeCause = { ...consistent, states: new Map([['a/1', state(100, [], [])], ['b/1', state(110, [], [pay.id])]]), channels: [] };
    const violations = checkCut(effectBeforeCause, { total: 200 });
    assert.ok(violations.some((v) => v.includes('which a/1\'s state has not sent')), violations.join('\n'));
    assert.ok(violations.some((v) => v.includes('not conserved')));
    // The payment in flight is missing from the channel.
    const missed = checkCut({ ...consistent, channels: [] }, { total: 200 });
    assert.ok(missed.some((v) => v.includes('channel a/1>b/1')) && missed.some((v) => v.includes('not conserved')), missed.join('\n'));
  });
});
