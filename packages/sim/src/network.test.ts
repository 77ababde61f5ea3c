import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventQueue } from './event-queue.js';
import { Network, type NetworkKnobs } from './network.js';
import { Prng } from './prng.js';

function setup(knobs: Partial<NetworkKnobs>, members = ['a', 'b', 'c']) {
  const queue = new EventQueue();
  const arrivals: { to: string; from: string; bytes: Uint8Array; atMs: number }[] = [];
  const hints: { observer: string; peer: string; atMs: number }[] = [];
  const oversize: number[] = [];
  const network = new Network(queue, new Prng(1), knobs, {
    deliver: (to, from, bytes) => arrivals.push({ to, from, bytes, atMs: queue.nowMs }),
    linkDown: (observer, peer) => hints.push({ observer, peer, atMs: queue.nowMs }),
    oversize: (_from, _to, size) => oversize.push(size),
  });
  members.forEach((member, i) => network.attach(member, i + 1));
  return { queue, network, arrivals, hints, oversize };
}

const datagram = (n: number): Uint8Array => Uint8Array.of(n);

describe('Network', () => {
  it('delivers after the base delay plus jitter, reordering datagrams', () => {
    const { queue, network, arrivals } = setup({ baseDelayMs: 5, jitterMs: 20 });
    for (let i = 0; i < 50; i++) network.send('a', ['b'], datagram(i));
    queue.runUntil(1000);
    assert.equal(arrivals.length, 50);
    for (const arrival of arrivals) assert.ok(arrival.atMs >= 5 && arrival.atMs < 25);
    const order = arrivals.map((a) => a.bytes[0]);
    assert.notDeepEqual(order, [...order].sort((x, y) => (x as number) - (y as number)));
  });

  it('gives every destination its own copy', () => {
    const { queue, network, arrivals } = setup({});
    const bytes = datagram(7);
    network.send('a', ['b', 'c'], bytes);
    bytes[0] = 99;
    queue.runUntil(100);
    assert.equal(arrivals.length, 2);
    assert.ok(arrivals.every((a) => a.bytes[0] === 7));
    assert.notEqual(arrivals[0]?.bytes, arrivals[1]?.bytes);
  });

  it('loses and duplicates at about the configured rates', () => {
    const { queue, network, arrivals } = setup({ lossRate: 0.2, duplicateRate: 0.1 });
    for (let i = 0; i < 5000; i++) network.send('a', ['b'], datagram(i % 256));
    queue.runUntil(1000);
    assert.ok(Math.abs(network.stats.lost / 5000 - 0.2) < 0.03);
    assert.ok(Math.abs(network.stats.duplicated / 4000 - 0.1) < 0.03);
    assert.equal(arrivals.length, 5000 - network.stats.lost + network.stats.duplicated);
  });

  it('partitions at send time and in flight, then heals', () => {
    const { queue, network, arrivals } = setup({ baseDelayMs: 10, jitterMs: 0 });
    network.send('a', ['b', 'c'], datagram(1)); // in flight when the partition starts
    queue.runUntil(5);
    network.partition([[1, 2], [3]]);
    network.send('a', ['b', 'c'], datagram(2));
    queue.runUntil(30);
    assert.deepEqual(arrivals.map((a) => `${a.to}${a.bytes[0]}`), ['b1', 'b2']);
    assert.equal(network.canReach('a', 'c'), false);
    network.heal();
    network.send('a', ['c'], datagram(3));
    queue.runUntil(60);
    assert.equal(arrivals.at(-1)?.to, 'c');
    assert.equal(network.stats.droppedPartition, 2);
  });

  it('drops datagrams to and from a crashed member', () => {
    const { queue, network, arrivals } = setup({ baseDelayMs: 10 });
    network.send('a', ['b'], datagram(1));
    network.detach('b');
    network.send('b', ['a'], datagram(2));
    queue.runUntil(100);
    assert.equal(arrivals.length, 0);
    assert.equal(network.stats.droppedDead, 1);
  });

  it('hints linkDown to survivors of a crash and across a new partition when asked to', () => {
    const quiet = setup({ linkDownOnCrash: false });
    quiet.network.detach('c');
    quiet.queue.runUntil(1000);
    assert.equal(quiet.hints.length, 0);

    const { queue, network, hints } = setup({ linkDownOnCrash: true, linkDownOnPartition: true, linkDownDelayMs: 40 });
    network.detach('c');
    queue.runUntil(1000);
    assert.deepEqual(hints.map((h) => `${h.observer}-${h.peer}`).sort(), ['a-c', 'b-c']);
    assert.ok(hints.every((h) => h.atMs >= 20 && h.atMs < 60));
    hints.length = 0;
    network.partition([[1], [2]]);
    queue.runUntil(2000);
    assert.deepEqual(hints.map((h) => `${h.observer}-${h.peer}`).sort(), ['a-b', 'b-a']);
  });

  it('reports and drops datagrams over the MTU', () => {
    const { queue, network, arrivals, oversize } = setup({ mtuBytes: 100 });
    network.send('a', ['b'], new Uint8Array(101));
    network.send('a', ['b'], new Uint8Array(100));
    queue.runUntil(100);
    assert.deepEqual(oversize, [101]);
    assert.equal(arrivals.length, 1);
  });
});
