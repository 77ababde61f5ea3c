/**
 * Primary-backup in the deterministic World: clients at every member send requests to a log
 * service while the primary is crashed (also in the middle of running a request), minorities are
 * partitioned off and rejoin, and datagrams are lost and duplicated. The checker
 * (primary-backup-checker.ts) reads the recorded history: no acknowledged request lost, none run
 * twice, identical states after quiescence. A failing seed is printed: PB_SEED=<seed> replays it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group, JoinOptions, Peer } from '@synod/peer';
import { World } from '@synod/sim/world';
import { primaryBackup, type PrimaryBackup } from '../src/primary-backup.js';
import { checkPrimaryBackup, type PrimaryBackupEvent } from './primary-backup-checker.js';

const timing = { heartbeatMs: 20, suspectAfterMs: 200, retransmitMs: 10, discoveryMs: 100, flushTimeoutMs: 300 } satisfies JoinOptions;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The service: the log of applied request ids; a request is answered with the log's length. */
class LogService {
  log: string[] = [];
  /** Called before apply returns: the test may crash the primary there. */
  onApply: () => void = () => undefined;
  apply = (request: { id: string }): number => {
    this.log.push(request.id);
    this.onApply();
    return this.log.length;
  };
  save = (): Uint8Array => encoder.encode(JSON.stringify(this.log));
  load = (bytes: Uint8Array): void => {
    this.log = JSON.parse(decoder.decode(bytes)) as string[];
  };
}

interface Member {
  readonly index: number;
  readonly peer: Peer;
  readonly service: LogService;
  group: Group;
  tool: PrimaryBackup<{ id: string }, number>;
}

const address = (member: Member) => member.peer.id;

async function run(seed: number): Promise<{ world: World; history: PrimaryBackupEvent[]; acks: number; takeovers: number; faults: string[] }> {
  const probe = new World({ seed });
  const lossRate = probe.prng.pick([0, 0.01, 0.05]);
  const world = new World({ seed, lossRate, duplicateRate: probe.prng.pick([0, 0.02]) });
  const prng = world.prng.derive('scenario');
  const size = prng.pick([3, 5]);
  const peers = await world.peers(size);
  const history: PrimaryBackupEvent[] = [];
  const members: Member[] = [];
  const faults: string[] = [`loss ${lossRate}`, `${size} members`];
  const join = (member: Omit<Member, 'group' | 'tool'>) =>
    member.peer.join('pb', {
      ...timing,
      setup: (group) => {
        const tool = primaryBackup(group, member.service);
        let wasPrimary = false;
        group.on('view', () => {
          if (tool.isPrimary && !wasPrimary) history.push({ atMs: world.nowMs, member: `m${member.index}`, type: 'takeover', log: [...member.service.log] });
          wasPrimary = tool.isPrimary;
        });
        group.on('excluded', () => (wasPrimary = false));
        Object.assign(member, { group, tool });
      },
    });
  const joining = peers.map((peer, index) => {
    const member = { index, peer, service: new LogService() } as Member;
    members.push(member);
    return join(member);
  });
  await world.settle(Promise.all(joining), 'the group to form');
  await world.until(() => members.every((m) => m.group.view?.members.length === size), 'a full view');

  // Clients: each member keeps up to 3 requests in flight, 12 in all.
  const perClient = 12;
  let acks = 0;
  const issued = new Map<Member, number>();
  const issue = (member: Member): void => {
    const k = issued.get(member) ?? 0;
    if (k >= perClient || !world.isAlive(member.peer)) return;
    issued.set(member, k + 1);
    const id = `m${member.index}-${k}`;
    member.tool.request({ id }).then(
      (response) => {
        acks++;
        history.push({ atMs: world.nowMs, member: `m${member.index}`, type: 'ack', id, response });
        issue(member);
      },
      () => undefined,
    );
  };
  for (const member of members) for (let i = 0; i < 3; i++) issue(member);

  // Faults: crash the primary (at a random time, or inside apply), partition a minority off.
  const maxCrashes = size === 5 ? 2 : 1;
  let crashes = 0;
  const live = () => members.filter((m) => world.isAlive(m.peer));
  for (let round = 0; round < 3; round++) {
    const fault = prng.pick(['crash', 'crash-in-apply', 'partition', 'none']);
    await world.run(prng.int(20, 150));
    const primary = live().find((m) => m.tool.isPrimary);
    // The core blocks a view that loses half of its members (primary partition): fault only a
    // view holding every live member, and leave it a majority.
    const full = primary !== undefined && live().every((m) => primary.group.view?.members.includes(m.group.memberId));
    if (!full) continue;
    if ((fault === 'crash' || fault === 'crash-in-apply') && crashes < maxCrashes && live().length - 1 > live().length / 2) {
      crashes++;
      if (fault === 'crash') {
        faults.push(`crash primary m${primary.index} at ${world.nowMs}`);
        world.crash(primary.peer);
      } else {
        faults.push(`crash primary m${primary.index} in apply after ${world.nowMs}`);
        primary.service.onApply = () => {
          primary.service.onApply = () => undefined;
          world.crash(primary.peer);
        };
      }
      await world.run(prng.int(300, 800));
      primary.service.onApply = () => undefined;
    } else if (fault === 'partition') {
      const alive = live();
      const minority = prng.shuffle([...alive]).slice(0, Math.floor((alive.length - 1) / 2));
      faults.push(`partition off ${minority.map((m) => `m${m.index}`).join(',')} at ${world.nowMs}`);
      world.partition([minority.map(address), alive.filter((m) => !minority.includes(m)).map(address)]);
      await world.run(prng.int(100, 800));
      world.heal();
    }
  }
  // Liveness: no more faults; every live client's requests complete; everyone agrees.
  world.lossRate = 0;
  world.duplicateRate = 0;
  world.heal();
  const survivors = live();
  await world.until(
    () => survivors.every((m) => issued.get(m) === perClient) && acksOf(history, survivors) === survivors.length * perClient,
    'every live client to complete its requests',
    30_000,
  );
  await world.until(
    () => {
      const view = survivors[0]!.group.view;
      return survivors.every((m) => m.group.view?.viewId === view?.viewId && m.group.view?.members.length === survivors.length && m.tool.appliedSeq === survivors[0]!.tool.appliedSeq);
    },
    'one view of the survivors, same applied updates',
    30_000,
  ).catch((error: unknown) => {
    const state = survivors.map((m) => `m${m.index} ${m.group.memberId} view ${m.group.view?.viewId} [${m.group.view?.members.join(' ')}] applied ${m.tool.appliedSeq}`);
    throw new Error(`${String(error)}; ${faults.join('; ')}; ${state.join('; ')}`);
  });
  for (const member of survivors) history.push({ atMs: world.nowMs, member: `m${member.index}`, type: 'final', log: [...member.service.log] });
  return { world, history, acks, takeovers: history.filter((e) => e.type === 'takeover').length, faults };
}

function acksOf(history: readonly PrimaryBackupEvent[], members: readonly Member[]): number {
  const names = new Set(members.map((m) => `m${m.index}`));
  return history.filter((event) => event.type === 'ack' && names.has(event.member)).length;
}

describe('primary-backup in the simulator', () => {
  const only = process.env['PB_SEED'];
  const seeds = only ? [Number(only)] : Array.from({ length: Number(process.env['PB_SEEDS'] ?? 60) }, (_, i) => Number(process.env['PB_FIRST_SEED'] ?? 1000) + i);

  it(`${seeds.length} seeds with primary crashes (also mid-request), partitions, loss: no acknowledged request lost or run twice`, { timeout: 120_000 }, async () => {
    let totalAcks = 0;
    let totalTakeovers = 0;
    let totalFaults = 0;
    for (const seed of seeds) {
      let outcome: Awaited<ReturnType<typeof run>>;
      try {
        outcome = await run(seed);
      } catch (error) {
        assert.fail(`PB_SEED=${seed}: ${String(error)}`);
      }
      const violations = checkPrimaryBackup(outcome.history);
      assert.deepEqual(violations, [], `PB_SEED=${seed} (${outcome.world.describe()}; ${outcome.faults.join('; ')})`);
      totalAcks += outcome.acks;
      totalTakeovers += outcome.takeovers;
      totalFaults += outcome.faults.length - 2;
    }
    console.log(`primary-backup sim: ${seeds.length} seeds, ${totalFaults} faults, ${totalTakeovers} takeovers, ${totalAcks} acknowledged requests, 0 violations`);
  });

  it('the checker finds a lost acknowledged request, a double execution and diverging states', () => {
    const history: PrimaryBackupEvent[] = [
      { atMs: 10, member: 'm1', type: 'ack', id: 'a', response: 1 },
      { atMs: 20, member: 'm1', type: 'ack', id: 'b', response: 2 },
      { atMs: 30, member: 'm2', type: 'takeover', log: ['a'] },
      { atMs: 90, member: 'm2', type: 'final', log: ['a', 'c', 'c'] },
      { atMs: 90, member: 'm3', type: 'final', log: ['a', 'c'] },
    ];
    const violations = checkPrimaryBackup(history);
    assert.ok(violations.some((v) => v.includes('b acknowledged at 20 is lost')), violations.join('\n'));
    assert.ok(violations.some((v) => v.includes('c executed twice')));
    assert.ok(violations.some((v) => v.includes('final states differ')));
    assert.ok(violations.some((v) => v.includes('b acknowledged at 20 is missing')));
    assert.deepEqual(checkPrimaryBackup(history.slice(0, 1)), []);
  });
});
