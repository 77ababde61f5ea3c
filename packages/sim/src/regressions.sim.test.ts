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
  // { seed: 12345, members: 5, note: 'joiner stuck when the view moved on during its state transfer (fixed in abc123)' },
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
