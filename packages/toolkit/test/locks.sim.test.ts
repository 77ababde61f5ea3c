/**
 * Read/write locks under crashes, symmetric partitions, loss and duplication, over many seeds:
 * every process loops acquire / hold / release on two lock names. Checkers: at no virtual instant do
 * two live processes hold conflicting grants of one name, by each holder's own grant.valid()
 * sampled every ms; conflicting successive grants carry increasing fencing tokens; grants follow
 * the FIFO order of requests in every member's applied log; once faults stop, every live process is
 * granted again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { World } from '@synod/sim/world';
import { createLocks, type LockEvent, type LockGrant, type Locks } from '../src/locks.js';
import { History, checkGrants, formGroup, lease, pause, runFaults, runSampling, type HistoryEvent } from './locks.world.js';

const SEEDS = Number(process.env['TOOLKIT_SEEDS'] ?? 30);

/** FIFO: of two requests of one name applied in this order, both granted, the first has the smaller fencing token. */
export function checkFifo(events: readonly LockEvent[]): string[] {
  const requested = new Map<string, { name: string; position: number }>();
  const grants: { name: string; position: number; fencingToken: number; id: string }[] = [];
  events.forEach((event) => {
    const id = `${event.member}#${event.request}`;
    if (event.type === 'request') requested.set(id, { name: event.name, position: requested.size });
    else if (event.type === 'grant') {
      const request = requested.get(id);
      if (request) grants.push({ name: event.name, position: request.position, fencingToken: event.fencingToken, id });
    }
  });
  const violations: string[] = [];
  const byName = new Map<string, typeof grants>();
  for (const grant of grants) byName.set(grant.name, [...(byName.get(grant.name) ?? []), grant]);
  for (const [name, list] of byName) {
    list.sort((a, b) => a.position - b.position);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.fencingToken <= list[i - 1]!.fencingToken) {
        violations.push(`${name}: ${list[i]!.id} requested after ${list[i - 1]!.id} but granted token ${list[i]!.fencingToken} <= ${list[i - 1]!.fencingToken}`);
      }
    }
  }
  return violations;
}

async function locksRun(seed: number): Promise<void> {
  const world = new World({ seed });
  const size = world.prng.pick([3, 3, 5]);
  const locks: Locks[] = [];
  const logs: LockEvent[][] = [];
  const { peers, groups } = await formGroup(world, size, (i) => ({
    setup: (group) => {
      logs[i] = [];
      locks[i] = createLocks(group, { ...lease, onEvent: (event) => logs[i]!.push(event) });
    },
  }));
  const held = peers.map(() => new Set<LockGrant>());
  const grantedAt = peers.map(() => [] as number[]);
  const prng = world.prng.derive('workers');
  const worker = async (i: number) => {
    const group = groups[i]!;
    for (;;) {
      await pause(group, prng.int(0, 40));
      const name = prng.pick(['A', 'A', 'B']);
      const mode = prng.chance(0.3) ? 'read' : 'write';
      try {
        // Longer than the quiet phase, so a request the tool loses strands its waiter and fails the run.
        const grant = await locks[i]!.acquire(name, mode, { timeoutMs: 30_000 });
        held[i]!.add(grant);
        grantedAt[i]!.push(world.nowMs);
        await pause(group, prng.int(5, 40));
        held[i]!.delete(grant);
        await grant.release();
      } catch {
        await pause(group, 50);
      }
    }
  };
  peers.forEach((_, i) => void worker(i));
  const history = new History();
  const sample = () =>
    peers.forEach((peer, i) => {
      if (!world.isAlive(peer)) return;
      const beliefs = [...held[i]!].filter((grant) => grant.valid()).map((grant) => ({ name: grant.name, mode: grant.mode, fence: grant.fencingToken }));
      history.observe(world.nowMs, peer.id, beliefs);
    });
  const faults = await runFaults(world, peers, groups, history, sample, { faultMs: 3000, maxCrashes: Math.floor((size - 1) / 2) });
  const fail = (what: string, details: readonly string[]) =>
    assert.fail(`${world.describe()} (${size} members): ${what}\n${details.slice(0, 10).join('\n')}\nfaults: ${faults.join('; ')}`);
  const quietAt = world.nowMs;
  const live = peers.map((_, i) => i).filter((i) => world.isAlive(peers[i]!));
  const everyoneGranted = await runSampling(world, 20_000, sample, () => live.every((i) => grantedAt[i]!.some((t) => t > quietAt + 1000)));
  const violations = [...checkGrants(history.events), ...logs.flatMap((log) => checkFifo(log))];
  if (violations.length > 0 && process.env['LOCKS_DEBUG']) {
    const fenceOf = logs.map((log) => new Map(log.filter((e) => e.type === 'grant').map((e) => [`${e.member}#${e.request}`, (e as { fencingToken: number }).fencingToken])));
    for (const [id, fence] of fenceOf[0]!) for (let j = 1; j < logs.length; j++) if (fenceOf[j]!.has(id) && fenceOf[j]!.get(id) !== fence) console.log('DIVERGE', id, fence, j, fenceOf[j]!.get(id));
    groups.forEach((g, i) => console.log(i, g.memberId, JSON.stringify(logs[i]!.slice(-3))));
  }
  if (violations.length > 0) fail('safety', violations);
  if (!everyoneGranted) {
    fail('a live process was not granted once faults stopped', [
      ...live.map((i) => `p${i} last granted at ${grantedAt[i]!.at(-1)}; view ${groups[i]!.view?.viewId} ${groups[i]!.view?.members.join(',')}; me ${groups[i]!.memberId}`),
    ]);
  }
  const grants = history.events.filter((event) => event.type === 'begin').length;
  if (grants < 10) fail('too few grants to mean anything', [`${grants}`]);
}

describe('locks in the simulator', () => {
  it(`${SEEDS} seeds with crashes, partitions, loss: no conflicting grants, increasing fences, FIFO, liveness`, async () => {
    for (let seed = Number(process.env['TOOLKIT_FIRST_SEED'] ?? 1); seed <= SEEDS; seed++) await locksRun(seed);
  });

  it('the checkers reject hand-made bad histories', () => {
    const grant = (mode: 'read' | 'write', fence: number) => ({ name: 'A', mode, fence });
    const overlap: HistoryEvent[] = [
      { t: 0, process: 'a', type: 'begin', belief: grant('read', 1) },
      { t: 5, process: 'b', type: 'begin', belief: grant('read', 2) },
      { t: 7, process: 'c', type: 'begin', belief: grant('write', 3) },
    ];
    assert.equal(checkGrants(overlap).length, 2, 'a writer while two readers hold');
    assert.deepEqual(checkGrants(overlap.slice(0, 2)), [], 'two readers share');
    const staleFence: HistoryEvent[] = [
      { t: 0, process: 'a', type: 'begin', belief: grant('write', 5) },
      { t: 5, process: 'a', type: 'end', belief: grant('write', 5) },
      { t: 7, process: 'b', type: 'begin', belief: grant('write', 4) },
    ];
    assert.equal(checkGrants(staleFence).length, 1, 'a later grant with a smaller fence');
    const unfair: LockEvent[] = [
      { type: 'request', name: 'A', member: 'x', request: 1, mode: 'write' },
      { type: 'request', name: 'A', member: 'y', request: 1, mode: 'write' },
      { type: 'grant', name: 'A', member: 'y', request: 1, mode: 'write', fencingToken: 1 },
      { type: 'grant', name: 'A', member: 'x', request: 1, mode: 'write', fencingToken: 2 },
    ];
    assert.equal(checkFifo(unfair).length, 1);
  });
});
