import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventQueue } from './event-queue.js';

describe('EventQueue', () => {
  it('runs events by time, then in scheduling order', () => {
    const queue = new EventQueue();
    const order: string[] = [];
    queue.at(20, () => order.push('c'));
    queue.at(10, () => order.push('a'));
    queue.at(10, () => order.push('b'));
    queue.at(5, () => {
      order.push('first');
      queue.after(5, () => order.push('a2')); // same time as 'a' and 'b', scheduled later
    });
    queue.runUntil(100);
    assert.deepEqual(order, ['first', 'a', 'b', 'a2', 'c']);
    assert.equal(queue.nowMs, 100);
    assert.equal(queue.processed, 5);
  });

  it('clamps times in the past to now', () => {
    const queue = new EventQueue();
    const times: number[] = [];
    queue.at(50, () => queue.at(10, () => times.push(queue.nowMs)));
    queue.runUntil(60);
    assert.deepEqual(times, [50]);
  });

  it('stops early when asked, leaving later events queued', () => {
    const queue = new EventQueue();
    let count = 0;
    for (let t = 1; t <= 10; t++) queue.at(t, () => count++);
    assert.equal(queue.runUntil(100, () => count >= 3), false);
    assert.equal(count, 3);
    assert.equal(queue.nowMs, 3);
    assert.equal(queue.size, 7);
    queue.runUntil(5);
    assert.equal(count, 5);
  });

  it('keeps a large random schedule in order', () => {
    const queue = new EventQueue();
    const seen: number[] = [];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const at = x % 1000;
      queue.at(at, () => seen.push(at));
    }
    queue.runUntil(1000);
    assert.equal(seen.length, 5000);
    for (let i = 1; i < seen.length; i++) assert.ok((seen[i - 1] as number) <= (seen[i] as number));
  });
});
