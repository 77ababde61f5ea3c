/**
 * Seeds that once failed, replayed on every test run so a fixed bug stays fixed. When
 * `pnpm sim` or the simulation suite prints a failing SEED=…, add it here with the member count
 * and a line on what it caught, once the bug is fixed (a seed replays only while the code paths it
 * drives stay the same, so a seed that turns green after an unrelated change is still worth keeping:
 * it keeps exercising that scenario).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation } from './run.js';

interface Regression {
  readonly seed: number;
  readonly members: number;
  /** What the seed caught, and the commit that fixed it. */
  readonly note: string;
}

const REGRESSIONS: readonly Regression[] = [
  { seed: 34, members: 5, note: 'staggered founders each founded a group (discovery listens three rounds, counts askers)' },
  { seed: 15, members: 5, note: 'state-transfer frames of an older view dropped as stale: joiner stuck (xfer keyed by its own view)' },
  { seed: 30, members: 5, note: 'provider left mid-transfer; its joiners kept the view from a quorum (such joiners are dropped)' },
  { seed: 54, members: 5, note: 'provider left mid-transfer (as seed 30)' },
  { seed: 62, members: 5, note: 'lost xferDone pinned the state snapshot in memory (provider probes silent transfers)' },
  { seed: 97, members: 5, note: 'lost xferDone (as seed 62)' },
  { seed: 363, members: 5, note: 'leaked state snapshot (as seed 62)' },
  { seed: 254, members: 5, note: 'safe delivery not uniform: acks from members frozen in a flush counted (safeAcks)' },
  { seed: 895, members: 5, note: 'safe delivery not uniform (as seed 254)' },
  { seed: 1315, members: 5, note: 'install deadlock: the only holder of the cut had moved on (previous view serves NAKs)' },
  { seed: 311, members: 5, note: 'a joiner in the view never got the view frame from a minority member (join request answered)' },
  { seed: 1026, members: 5, note: 'joiner lost with its provider (as seed 311)' },
  { seed: 201, members: 5, note: 'coordinator excluded by its own view went away before anyone had the view frame (handoff)' },
  { seed: 1042, members: 5, note: 'a restarted peer behind a partition founded a second group (founding needs co-founders)' },
  { seed: 1091, members: 5, note: 'second group founded after every state holder crashed mid-transfer' },
  { seed: 1292, members: 5, note: 'a lone joiner founded beside a live group (founding quorum)' },
  { seed: 589, members: 5, note: 'a member in a minority whose view-mates died never rejoined (probes its contacts)' },
  { seed: 815, members: 5, note: 'second group founded under loss while the group was alive' },
  { seed: 1594, members: 5, note: 'second group founded under loss (as seed 815)' },
  { seed: 5289, members: 5, note: 'provider crash left joiners unable to get state' },
  { seed: 7088, members: 3, note: 'joiners answered discovery as co-founders while a loss burst hid the group (joiners name their group)' },
  { seed: 7115, members: 3, note: 'minority member with dead view-mates stuck forever (minority probe)' },
  { seed: 7071, members: 3, note: 'group left without a quorum after a provider crash' },
  { seed: 7123, members: 3, note: 'joiner stuck joining after crashes' },
  { seed: 593, members: 5, note: 'an adopted proposal named members that had crashed: view born without a quorum (skip provably uninstalled proposals)' },
  { seed: 1666, members: 5, note: 'stale accepted proposal installed crashed members (as seed 593)' },
  { seed: 818, members: 5, note: 'stale accepted proposal (as seed 593)' },
  { seed: 101042, members: 5, note: 'stale accepted proposal (as seed 593), found by the soak' },
  { seed: 109666, members: 5, note: 'split brain at formation: under 20% loss two founders missed each other for three rounds (founding needs a majority of votes)' },
  { seed: 100788, members: 5, note: 'crash of n3 while its proposal [n3,n4] was accepted but not installed: adopted, n4 alone blocked (accepted views bind the fault schedule)' },
  { seed: 100603, members: 5, note: 'adopted view named its crashed coordinator and a joiner that crashed before installing it: half alive, not the oldest (ties go to members carried over)' },
  { seed: 600239, members: 5, note: 'founding deadlock under loss: a candidate withdrew without releasing voters whose grants it never heard, and they held their votes for ever (a withdrawal releases every peer asked)' },
  { seed: 508358, members: 5, note: 'a joiner with its view but no state, cut off alone, never learnt the live peers: the rendezvous now counts it as looking, as the peer runtime does until its state is loaded' },
  { seed: 606526, members: 5, note: 'provider crashed; four stateless joiners (a majority of the view) suspected every old member across a partition, coordinated a view with nobody in it and left: the two old members never had a quorum again (no view without a state holder while members stay; stateless joiners cut off from every state holder wait, then give up)' },
  { seed: 603245, members: 5, note: 'with the old members crashed, the oldest alive was a joiner without state: forbidding such joiners to coordinate left the two joiners holding state without a quorum' },
  { seed: 603278, members: 5, note: 'joiners never got their state when stateless joiners could not coordinate (as seed 603245)' },
  { seed: 604680, members: 5, note: 'stateless joiners unable to coordinate (as seed 603245)' },
  { seed: 1001811, members: 5, note: 'after loss bursts a joiner in an accepted flush fetched its cut one hole per stream per retransmission round, longer than its patience; the joiners gave up and the old members had no quorum (every hole is NAKed now)' },
  { seed: 1003285, members: 5, note: 'the same slow fetch of scattered holes, failing before the NAK rule of a3b6f42 too' },
  { seed: 1004087, members: 5, note: "a sequencer cut off alone asked to leave and was excluded: its 'left' now says cutOff, and the total-order checker no longer holds its last view's (non-uniform) total order to the survivors'" },
  { seed: 6002900, members: 5, note: 'a member that took itself for the coordinator started a round, promised it, was cut off alone and gave it up, then rejoined the majority still frozen: the coordinator now ends a freeze that outlives every round with a round of its own' },
];

describe('simulation regressions', () => {
  it('lists well-formed seeds', () => {
    for (const regression of REGRESSIONS) {
      assert.ok(Number.isInteger(regression.seed) && regression.seed >= 0);
      assert.ok(Number.isInteger(regression.members) && regression.members >= 1);
    }
  });
  for (const { seed, members, note } of REGRESSIONS) {
    it(`seed ${seed} (${members} members): ${note}`, () => {
      const { violations } = runSimulation({ seed, members });
      const summary = violations.map((v) => `  [${v.checker}] ${v.message}`).join('\n');
      assert.deepEqual(violations, [], `SEED=${seed}\n${summary}\n  replay: pnpm sim --runs 1 --seed ${seed} --members ${members}`);
    });
  }
});
