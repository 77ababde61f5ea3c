import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemberConfig } from '@synod/core';
import { SynodError } from '@synod/core';
import type { MemberLike } from './member-like.js';
import { Oracle } from './oracle-member.js';
import { runSimulation, type RunOptions } from './run.js';

/** A member whose methods delegate to `member`, except the overridden ones. */
function wrap(member: MemberLike, overrides: Partial<MemberLike>): MemberLike {
  return new Proxy(member, {
    get: (target, key) => {
      if (key in overrides) return overrides[key as keyof MemberLike];
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Runs over the idealised oracle group: the runner and checkers must raise no false alarm. */
function oracleRun(seed: number, extra: Partial<RunOptions> = {}, dropEvery?: number) {
  const oracle = new Oracle('sim', dropEvery === undefined ? {} : { dropEvery });
  return runSimulation({ seed, safetyMs: 3000, createMember: oracle.createMember, ...extra });
}

describe('runSimulation over an idealised group', () => {
  it('finds no violation across every fault flavour', () => {
    const flavours = new Set<string>();
    for (let seed = 1; seed <= 24; seed++) {
      const result = oracleRun(seed);
      flavours.add(result.stats.flavour);
      assert.deepEqual(result.violations, [], `SEED=${seed}`);
      assert.ok(result.final.converged, `SEED=${seed}`);
      assert.ok(result.stats.deliveries > 0, `SEED=${seed}`);
    }
    assert.equal(flavours.size, 6);
  });

  it('exercises crashes, restarts, joins, leaves, partitions and state transfer', () => {
    const totals = { crashes: 0, restarts: 0, joins: 0, leaves: 0, partitions: 0, loads: 0, big: 0 };
    for (let seed = 100; seed < 112; seed++) {
      const result = oracleRun(seed, {
        adjustScenario: (s) => ({ ...s, faults: { ...s.faults, crashPerSec: 1, joinPerSec: 1, leavePerSec: 0.5, partitionPerSec: 1 } }),
      });
      assert.deepEqual(result.violations, [], `SEED=${seed}`);
      totals.crashes += result.stats.cluster.crashes;
      totals.restarts += result.stats.cluster.restarts;
      totals.joins += result.stats.cluster.joins;
      totals.leaves += result.stats.cluster.leaves;
      totals.partitions += result.stats.cluster.partitions;
      for (const history of result.histories) {
        totals.loads += history.events.filter((e) => e.t === 'loadState').length;
        totals.big += history.sent.filter((s) => s.sizeBytes > 16 * 1024).length;
      }
    }
    for (const [what, count] of Object.entries(totals)) assert.ok(count > 0, `no ${what}`);
  });

  it('is deterministic: a seed replays to the same histories', () => {
    const first = oracleRun(7);
    const second = oracleRun(7);
    assert.deepEqual(second.histories, first.histories);
    assert.deepEqual(second.stats, first.stats);
  });

  it('catches a group that loses messages', () => {
    const result = oracleRun(3, {}, 50);
    const checkers = new Set(result.violations.map((v) => v.checker));
    assert.ok(['virtual-synchrony', 'no-loss', 'fifo'].some((c) => checkers.has(c)), [...checkers].join());
    assert.ok(checkers.has('liveness'), [...checkers].join());
  });

  it('reports a member that throws, and survives it', () => {
    let calls = 0;
    const oracle = new Oracle('sim');
    const result = runSimulation({
      seed: 5,
      safetyMs: 1000,
      createMember: (config: MemberConfig) => {
        const member = oracle.createMember(config);
        if (config.self !== 'n2') return member;
        return wrap(member, {
          tick: (nowMs: number) => {
            if (++calls === 50) throw new Error('boom');
            member.tick(nowMs);
          },
        });
      },
    });
    const thrown = result.violations.filter((v) => v.checker === 'member-threw');
    assert.equal(thrown.length, 1);
    assert.match(thrown[0]?.message ?? '', /n2\.tick\(\) threw: Error: boom/);
  });

  it('lets the app live with BACKPRESSURE and NOT_JOINED', () => {
    const oracle = new Oracle('sim');
    let refusals = 0;
    const result = runSimulation({
      seed: 9,
      safetyMs: 1000,
      createMember: (config: MemberConfig) => {
        const member = oracle.createMember(config);
        return wrap(member, {
          send: (...args: Parameters<MemberLike['send']>) => {
            if (++refusals % 3 === 0) throw new SynodError('BACKPRESSURE', 'full');
            return member.send(...args);
          },
        });
      },
    });
    assert.deepEqual(result.violations, []);
    assert.ok(result.stats.cluster.backpressure > 0);
  });
});
