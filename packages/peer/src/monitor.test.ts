import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Monitor } from './monitor.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('monitor', () => {
  it('runs tasks one at a time in order, waiting for async ones', async () => {
    const log: string[] = [];
    const gates: (() => void)[] = [];
    const monitor = new Monitor((error) => assert.fail(String(error)));
    monitor.enqueue(() => new Promise<void>((resolve) => gates.push(() => (log.push('a'), resolve()))));
    monitor.enqueue(() => void log.push('b'));
    monitor.enqueue(async () => void log.push('c'));
    assert.deepEqual(log, [], 'nothing runs inside enqueue()');
    await tick();
    assert.deepEqual(log, []);
    gates[0]!();
    await monitor.idle();
    assert.deepEqual(log, ['a', 'b', 'c']);
  });

  it('lets the next task start when one releases the monitor', async () => {
    const log: string[] = [];
    let finish!: () => void;
    const monitor = new Monitor((error) => assert.fail(String(error)));
    monitor.enqueue(async (release) => {
      log.push('a start');
      release();
      await new Promise<void>((resolve) => (finish = resolve));
      log.push('a end');
    });
    monitor.enqueue(() => void log.push('b'));
    await monitor.idle();
    assert.deepEqual(log, ['a start', 'b']);
    finish();
    await tick();
    assert.deepEqual(log, ['a start', 'b', 'a end']);
  });

  it('reports errors, sync or async, and carries on; close() drops what has not started', async () => {
    const errors: unknown[] = [];
    const log: string[] = [];
    const monitor = new Monitor((error) => errors.push(error));
    monitor.enqueue(() => {
      throw new Error('sync');
    });
    monitor.enqueue(async () => {
      throw new Error('async');
    });
    monitor.enqueue(() => void log.push('after'));
    await monitor.idle();
    assert.deepEqual(
      errors.map((error) => (error as Error).message),
      ['sync', 'async'],
    );
    assert.deepEqual(log, ['after']);
    monitor.enqueue(() => new Promise<void>(() => undefined));
    monitor.enqueue(() => void log.push('dropped'));
    await tick();
    monitor.close();
    monitor.enqueue(() => void log.push('dropped too'));
    await tick();
    assert.deepEqual(log, ['after']);
  });

  it('keeps the order of many tasks while its ring wraps and grows', async () => {
    const log: number[] = [];
    const monitor = new Monitor((error) => assert.fail(String(error)));
    let next = 0;
    const add = (count: number) => {
      for (let i = 0; i < count; i++) {
        const n = next++;
        // Every tenth task is async, so enqueues land while the ring is part-consumed.
        monitor.enqueue(n % 10 === 0 ? async () => void log.push(n) : () => void log.push(n));
      }
    };
    add(50);
    await tick();
    add(100); // past 64 with the head moved on: wraps, then grows
    await monitor.idle();
    add(300);
    assert.equal(monitor.pending > 0, true);
    await monitor.idle();
    assert.deepEqual(log, Array.from({ length: 450 }, (_, i) => i));
    assert.equal(monitor.pending, 0);
  });
});
