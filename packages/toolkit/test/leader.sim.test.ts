/**
 * Leader selection under crashes, symmetric partitions, loss and duplication, over many seeds.
 * Checkers: every member that installed a view names the same leader for it; at no virtual instant
 * do two live processes believe they lead (each process's own isLeader(), sampled every ms); and
 * once faults stop, exactly one live member leads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { World } from '@synod/sim/world';
import { createLeader, type LeaderElection } from '../src/leader.js';
import { History, agreed, checkGrants, formGroup, lease, runFaults, runSampling, type HistoryEvent } from './locks.world.js';

const SEEDS = Number(process.env['TOOLKIT_SEEDS'] ?? 30);

/** In each view id, every member that installed it names the same leader. */
export function checkViewLeaders(records: readonly { viewId: number; process: string; leader: string | undefined }[]): string[] {
  const named = new Map<number, string | undefined>();
  const violations: string[] = [];
  for (const record of records) {
    if (!named.has(record.viewId)) named.set(record.viewId, record.leader);
    else if (named.get(record.viewId) !== record.leader) {
      violations.push(`view ${record.viewId}: ${record.process} names ${record.leader}, another named ${named.get(record.viewId)}`);
    }
  }
  return violations;
}

async function leaderRun(seed: number): Promise<void> {
  const world = new World({ seed });
  const size = world.prng.pick([3, 5]);
  const elections: LeaderElection[] = [];
  const viewRecords: { viewId: number; process: string; leader: string | undefined }[] = [];
  const { peers, groups } = await formGroup(world, size, (i) => ({
    setup: (group) => {
      const election = createLeader(group, lease);
      elections[i] = election;
      group.on('view', (view) => viewRecords.push({ viewId: view.viewId, process: `p${i}`, leader: election.leader }));
    },
  }));
  const history = new History();
  const sample = () =>
    peers.forEach((peer, i) => {
      if (!world.isAlive(peer)) return;
      const leads = elections[i]!.isLeader();
      history.observe(world.nowMs, peer.id, leads ? [{ name: 'leader', mode: 'write', fence: groups[i]!.view!.viewId }] : []);
    });
  const faults = await runFaults(world, peers, groups, history, sample, { faultMs: 3000, maxCrashes: Math.floor((size - 1) / 2) });
  const fail = (what: string, details: readonly string[]) =>
    assert.fail(`${world.describe()} (${size} members): ${what}\n${details.slice(0, 10).join('\n')}\nfaults: ${faults.join('; ')}`);
  const live = () => peers.map((peer, i) => i).filter((i) => world.isAlive(peers[i]!));
  const settled = await runSampling(world, 20_000, sample, () => {
    if (!agreed(world, peers, groups)) return false;
    const leaders = live().filter((i) => elections[i]!.isLeader());
    return leaders.length === 1 && groups[leaders[0]!]!.view!.members[0] === groups[leaders[0]!]!.memberId;
  });
  const violations = [...checkGrants(history.events), ...checkViewLeaders(viewRecords)];
  if (violations.length > 0) fail('safety', violations);
  if (!settled) fail('no single leader once faults stopped', live().map((i) => `p${i} view ${groups[i]!.view?.members.join(',')} leads=${elections[i]!.isLeader()}`));
}

describe('leader selection in the simulator', () => {
  it(`${SEEDS} seeds with crashes, partitions, loss: one agreed leader per view, never two believers`, async () => {
    for (let seed = 1; seed <= SEEDS; seed++) await leaderRun(seed);
  });

  it('the checkers reject a hand-made bad history', () => {
    const belief = (fence: number) => ({ name: 'leader', mode: 'write' as const, fence });
    const twoLeaders: HistoryEvent[] = [
      { t: 0, process: 'a', type: 'begin', belief: belief(1) },
      { t: 10, process: 'b', type: 'begin', belief: belief(2) },
      { t: 20, process: 'a', type: 'end', belief: belief(1) },
    ];
    assert.equal(checkGrants(twoLeaders).length, 1);
    // The same, but `a` crashed before `b` began: no violation (a dead process believes nothing).
    assert.deepEqual(checkGrants([twoLeaders[0]!, { t: 5, process: 'a', type: 'crash' }, twoLeaders[1]!]), []);
    assert.equal(
      checkViewLeaders([
        { viewId: 3, process: 'a', leader: 'x' },
        { viewId: 3, process: 'b', leader: 'y' },
      ]).length,
      1,
    );
  });
});
