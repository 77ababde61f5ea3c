/**
 * The simulation suite: 300 seeds of the real protocol core under varied faults, in batches so the
 * summary stays readable. A failing seed prints SEED=… and its replay command; keep it as a
 * regression in regressions.sim.test.ts once fixed. SIM_SEED / SIM_RUNS move or resize the window.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSimulation } from './run.js';

const FIRST_SEED = Number(process.env['SIM_SEED'] ?? 1);
const RUNS = Number(process.env['SIM_RUNS'] ?? 300);
const BATCHES = 6;
const MEMBERS = 5;

function runBatch(first: number, count: number): void {
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const { violations, stats } = runSimulation({ seed, members: MEMBERS });
    if (violations.length === 0) continue;
    const lines = violations.slice(0, 6).map((v) => `    [${v.checker}] ${v.message}`);
    const more = violations.length > 6 ? [`    … ${violations.length - 6} more`] : [];
    failures.push(
      [`SEED=${seed} (${stats.flavour}): ${violations.length} violations`, ...lines, ...more,
        `    replay: pnpm sim --runs 1 --seed ${seed} --members ${MEMBERS}`].join('\n'),
    );
  }
  assert.equal(failures.length, 0, `${failures.length} of ${count} seeds failed:\n${failures.join('\n')}`);
}

describe(`simulation: ${RUNS} seeds from ${FIRST_SEED}`, () => {
  const size = Math.ceil(RUNS / BATCHES);
  for (let first = FIRST_SEED; first < FIRST_SEED + RUNS; first += size) {
    const count = Math.min(size, FIRST_SEED + RUNS - first);
    it(`seeds ${first}..${first + count - 1}`, () => runBatch(first, count));
  }
});
