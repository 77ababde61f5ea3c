/**
 * The token under crashes, symmetric partitions, loss and duplication, over many seeds: every
 * process loops acquire / hold / release. Checkers: at no virtual instant do two live processes
 * believe they hold the token (each one's own holding(), sampled every ms), generations increase
 * from holder to holder, and once faults stop every live process is granted the token again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { World } from '@synod/sim/world';
import { createToken, type Token } from '../src/token.js';
import { History, checkGrants, formGroup, lease, pause, runFaults, runSampling, type HistoryEvent } from './locks.world.js';

const SEEDS = Number(process.env['TOOLKIT_SEEDS'] ?? 30);

async function tokenRun(seed: number): Promise<void> {
  const world = new World({ seed });
  const size = world.prng.pick([3, 3, 5]);
  const tokens: Token[] = [];
  const { peers, groups } = await formGroup(world, size, (i) => ({ setup: (group) => void (tokens[i] = createToken(group, lease)) }));
  const grantedAt = peers.map(() => [] as number[]);
  const prng = world.prng.derive('workers');
  const worker = async (i: number) => {
    for (;;) {
      await pause(groups[i]!, prng.int(0, 60));
      try {
        // Longer than the quiet phase: a request the tool loses strands its waiter, and the run
        // fails (short timeouts retried and hid that, 1a92a00).
        const grant = await tokens[i]!.acquire({ timeoutMs: 30_000 });
        grantedAt[i]!.push(world.nowMs);
        await pause(groups[i]!, prng.int(5, 30));
        grant.release();
      } catch {
        await pause(groups[i]!, 50);
      }
    }
  };
  peers.forEach((_, i) => void worker(i));
  const history = new History();
  const sample = () =>
    peers.forEach((peer, i) => {
      if (!world.isAlive(peer)) return;
      const token = tokens[i]!;
      history.observe(world.nowMs, peer.id, token.holding() ? [{ name: 'token', mode: 'write', fence: token.generation }] : []);
    });
  const faults = await runFaults(world, peers, groups, history, sample, { faultMs: 3000, maxCrashes: Math.floor((size - 1) / 2) });
  const fail = (what: string, details: readonly string[]) =>
    assert.fail(`${world.describe()} (${size} members): ${what}\n${details.slice(0, 10).join('\n')}\nfaults: ${faults.join('; ')}`);
  const quietAt = world.nowMs;
  const live = peers.map((_, i) => i).filter((i) => world.isAlive(peers[i]!));
  const everyoneGranted = await runSampling(world, 20_000, sample, () => live.every((i) => grantedAt[i]!.some((t) => t > quietAt + 1000)));
  const violations = checkGrants(history.events);
  if (violations.length > 0) fail('safety', violations);
  if (!everyoneGranted) {
    fail(
      'a live process was not granted once faults stopped',
      live.map((i) => `p${i} last at ${grantedAt[i]!.at(-1)}; holder ${tokens[i]!.holder} queue ${tokens[i]!.queue.join(',')}; me ${groups[i]!.memberId}`),
    );
  }
}

describe('the token in the simulator', () => {
  it(`${SEEDS} seeds with crashes, partitions, loss: never two holders, increasing generations, every request granted`, async () => {
    for (let seed = Number(process.env['TOOLKIT_FIRST_SEED'] ?? 1); seed <= SEEDS; seed++) await tokenRun(seed);
  });

  it('the checker rejects two holders at once and a regenerated token with an old generation, not a belief its crash ended', () => {
    const token = (fence: number) => ({ name: 'token', mode: 'write' as const, fence });
    const twoHolders: HistoryEvent[] = [
      { t: 0, process: 'a', type: 'begin', belief: token(1) },
      { t: 3, process: 'b', type: 'begin', belief: token(2) },
    ];
    assert.equal(checkGrants(twoHolders).length, 1);
    const oldGeneration: HistoryEvent[] = [
      { t: 0, process: 'a', type: 'begin', belief: token(4) },
      { t: 2, process: 'a', type: 'crash' },
      { t: 3, process: 'b', type: 'begin', belief: token(4) },
    ];
    assert.equal(checkGrants(oldGeneration).length, 2, 'the generation is reused and does not increase');
    const crashedAsItBegan: HistoryEvent[] = [
      { t: 5, process: 'a', type: 'begin', belief: token(1) },
      { t: 5, process: 'a', type: 'crash' },
      { t: 9, process: 'b', type: 'begin', belief: token(2) },
    ];
    assert.deepEqual(checkGrants(crashedAsItBegan), [], 'a crash ends the belief sampled at its instant');
  });
});
