/**
 * Replicated map, counter and log under loss, duplication, crashes, partitions and joiners, many
 * seeds: every run records a history on the virtual clock and replicated-checker.ts judges it.
 * A failure names its seed: `SEED=17 node --conditions=source --import tsx --test <this file>`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group, Peer } from '@synod/peer';
import { World } from '@synod/sim/world';
import { replicated, type ReplicatedCounter, type ReplicatedLog, type ReplicatedMap } from '../src/replicated.js';
import { checkReplicaHistory, emptyHistory, type ReplicaHistory } from './replicated-checker.js';
import { addressOf, simTiming, checkSeeds } from './replicated-harness.js';

const SEEDS = process.env['SEED'] ? [Number(process.env['SEED'])] : Array.from({ length: Number(process.env['SEEDS'] ?? 30) }, (_, i) => 1000 + i);

interface Member {
  readonly index: number;
  readonly peer: Peer;
  group: Group | undefined;
  map?: ReplicatedMap;
  counter?: ReplicatedCounter;
  log?: ReplicatedLog;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
const canonical = (value: unknown): string => (value instanceof Uint8Array ? `bytes:${hex(value)}` : JSON.stringify(value));

async function run(seed: number): Promise<{ history: ReplicaHistory; faults: string[] }> {
  const world = new World({ seed, duplicateRate: 0.03 });
  const prng = world.prng.derive('workload');
  world.lossRate = prng.pick([0, 0.02, 0.08]);
  const history = emptyHistory();
  const faults: string[] = [`loss ${world.lossRate}`];
  const members: Member[] = [];

  const record = (member: Member, replica: 'map' | 'counter' | 'log', change: { type: string; version: number; updateId?: string }) => {
    const who = member.group!.memberId;
    if (change.type === 'load') history.loads.push({ atMs: world.nowMs, member: who, replica, version: change.version });
    else history.applied.push({ atMs: world.nowMs, member: who, replica, version: change.version, updateId: change.updateId! });
  };
  const addMember = async (): Promise<Member> => {
    const member: Member = { index: members.length, peer: await world.peer(), group: undefined };
    members.push(member);
    const joined = member.peer.join('g', {
      ...simTiming,
      setup: (group) => {
        member.group = group;
        member.map = replicated(group, 'm', 'map');
        member.counter = replicated(group, 'c', 'counter');
        member.log = replicated(group, 'l', 'log');
        member.map.on('change', (change) => record(member, 'map', change));
        member.counter.on('change', (change) => record(member, 'counter', change));
        member.log.on('change', (change) => record(member, 'log', change));
      },
    });
    joined.catch(() => undefined);
    return member;
  };
  const alive = () => members.filter((m) => world.isAlive(m.peer));

  const size = prng.int(3, 5);
  for (let i = 0; i < size; i++) {
    const member = await addMember();
    await world.until(() => member.group?.view !== undefined, `member ${i} to join`);
  }
  await world.until(() => members.every((m) => m.group!.view?.members.length === size), 'a full view');

  let nextToken = 0;
  const issue = (member: Member) => {
    const group = member.group!;
    if (!group.view) return;
    const safe = prng.chance(0.2);
    const ack = (replica: 'map' | 'log', token: string, memberId: string) => () =>
      history.acked.push({ atMs: world.nowMs, member: memberId, replica, safe, token });
    const memberId = group.memberId;
    const token = `${member.index}:${nextToken++}`;
    const swallow = () => undefined;
    try {
      switch (prng.int(0, 5)) {
        case 0:
        case 1:
          member.map!.set(token, prng.chance(0.3) ? new Uint8Array([nextToken & 255, 7]) : { n: nextToken }, { safe }).then(ack('map', token, memberId), swallow);
          break;
        case 2:
          member.map!.set(`hot${prng.int(0, 4)}`, nextToken, { safe }).catch(swallow);
          break;
        case 3:
          member.map!.delete(`hot${prng.int(0, 4)}`, { safe }).catch(swallow);
          break;
        case 4:
          member.counter!.add(prng.int(-3, 10), { safe }).catch(swallow);
          break;
        default:
          member.log!.append(token, { safe }).then(ack('log', token, memberId), swallow);
      }
    } catch (error) {
      assert.fail(`an update threw synchronously: ${String(error)}`);
    }
  };

  // Safety phase: updates from every live member, with faults drawn from the seed.
  let crashes = 0;
  for (let step = 0; step < 60; step++) {
    for (const member of alive()) for (let k = prng.int(0, 3); k > 0; k--) issue(member);
    const roll = prng.next();
    const live = alive();
    if (roll < 0.03 && crashes < Math.floor((size - 1) / 2) && live.length > 2) {
      const victim = prng.pick(live);
      world.crash(victim.peer);
      crashes++;
      faults.push(`crash ${victim.index} at ${world.nowMs}`);
    } else if (roll < 0.05) {
      const cut = prng.shuffle([...live]).slice(0, prng.int(1, Math.max(1, Math.floor((live.length - 1) / 2))));
      world.partition([cut.map((m) => m.peer)]);
      faults.push(`partition ${cut.map((m) => m.index).join(',')} at ${world.nowMs}`);
    } else if (roll < 0.08) {
      world.heal();
    } else if (roll < 0.1 && members.length < size + 2) {
      const joiner = await addMember();
      faults.push(`join ${joiner.index} at ${world.nowMs}`);
    }
    await world.run(prng.int(5, 40));
  }

  // Liveness phase: no faults; every live peer ends in one view with the same replicas.
  world.heal();
  world.lossRate = 0;
  const quiet = () => {
    const live = alive();
    const first = live[0]?.group;
    return (
      first?.view !== undefined &&
      live.every((m) => {
        const group = m.group!;
        return (
          group.view?.viewId === first.view!.viewId &&
          group.view.members.length === live.length &&
          m.map!.version === live[0]!.map!.version &&
          m.counter!.version === live[0]!.counter!.version &&
          m.log!.version === live[0]!.log!.version
        );
      })
    );
  };
  await world.until(quiet, 'the live members to settle in one view');
  await world.run(500);
  await world.until(quiet, 'the live members to settle again');

  for (const member of alive()) {
    const who = member.group!.memberId;
    const mapEntries = [...member.map!.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    history.final.push({
      member: who,
      replica: 'map',
      version: member.map!.version,
      digest: member.map!.digest,
      content: mapEntries.map(([key, value]) => `${key}=${canonical(value)}`).join(';'),
      tokens: new Set(member.map!.keys()),
    });
    history.final.push({
      member: who,
      replica: 'counter',
      version: member.counter!.version,
      digest: member.counter!.digest,
      content: String(member.counter!.value),
      tokens: new Set(),
    });
    history.final.push({
      member: who,
      replica: 'log',
      version: member.log!.version,
      digest: member.log!.digest,
      content: member.log!.slice().map(canonical).join(';'),
      tokens: new Set(member.log!.slice().map(String)),
    });
  }
  return { history, faults };
}

describe('replicated data in the simulator', () => {
  it(`converges, agrees on one update order and keeps acknowledged updates (${SEEDS.length} seeds, faults from the seed)`, { timeout: 120_000 }, async () => {
    let updates = 0;
    let acked = 0;
    let loads = 0;
    const faultCounts = new Map<string, number>();
    const started = performance.now();
    await checkSeeds(SEEDS, run, checkReplicaHistory, (history, faults) => {
      for (const fault of faults) faultCounts.set(fault.split(' ')[0]!, (faultCounts.get(fault.split(' ')[0]!) ?? 0) + 1);
      updates += new Set(history.applied.map((r) => r.updateId)).size;
      acked += history.acked.length;
      loads += history.loads.length;
      assert.ok(history.final.length >= 6, 'at least two members at the end');
    });
    console.log(`# replicated: ${SEEDS.length} seeds, ${updates} updates applied, ${acked} acknowledged and checked, ${loads} state loads (joins, rejoins), faults ${JSON.stringify(Object.fromEntries(faultCounts))}, ${Math.round(performance.now() - started)} ms`);
  });

  it('the checker catches a divergent order, a gap, divergent content and a lost acknowledged update', () => {
    const base = (): ReplicaHistory => ({
      applied: [
        { atMs: 1, member: 'a', replica: 'm', version: 1, updateId: 'x/0' },
        { atMs: 1, member: 'b', replica: 'm', version: 1, updateId: 'x/0' },
        { atMs: 2, member: 'a', replica: 'm', version: 2, updateId: 'y/0' },
        { atMs: 2, member: 'b', replica: 'm', version: 2, updateId: 'y/0' },
      ],
      loads: [],
      acked: [{ atMs: 2, member: 'a', replica: 'm', safe: false, token: 'k1' }],
      final: ['a', 'b'].map((member) => ({ member, replica: 'm', version: 2, digest: 9, content: 'k1=1', tokens: new Set(['k1']) })),
    });
    checkReplicaHistory(base()); // the good history passes

    const divergent = base();
    divergent.applied[3] = { atMs: 2, member: 'b', replica: 'm', version: 2, updateId: 'z/0' };
    assert.throws(() => checkReplicaHistory(divergent), /version 2 is y\/0 at a but z\/0 at b/);

    const gap = base();
    gap.applied[3] = { atMs: 2, member: 'b', replica: 'm', version: 3, updateId: 'y/0' };
    assert.throws(() => checkReplicaHistory(gap), /applied version 3 after 1|applied at versions/);

    const diverged = base();
    diverged.final[1] = { ...diverged.final[1]!, content: 'k1=2' };
    assert.throws(() => checkReplicaHistory(diverged), /ends at version/);

    const lost = base();
    lost.acked.push({ atMs: 3, member: 'c', replica: 'm', safe: true, token: 'k2' }); // c crashed, but the update was safe
    assert.throws(() => checkReplicaHistory(lost), /safe update k2 acknowledged to c .* is lost/);
  });
});
