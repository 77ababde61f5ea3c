/** Typed shared objects and the layout helper, on a real region of a one-member group. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SynodError } from '@synod/core';
import { World } from '@synod/sim/world';
import { layout, map, schema, type Region } from '../src/index.js';

const Flight = schema({ callsign: { string: 8 }, level: 'u16', heading: 'f64', cleared: 'bool', waypoints: { array: 'u32', length: 3 } });

describe('typed shared objects', () => {
  it('lay records on page boundaries, never straddling, and read and write like plain objects under a lock', async () => {
    assert.equal(Flight.size, 40);
    const board = layout(128).string('title', 30).array('flights', Flight, 5).array('strips', Flight, 2, { perPage: 1 });
    assert.equal(board.pages, 1 + 2 + 2, 'title; 3 flights a page; one strip a page');
    assert.deepEqual(board.at('flights', 2), { page: 1, offset: 80, shape: Flight });
    assert.deepEqual(board.range('strips'), { first: 3, last: 4 });

    const world = new World({ seed: 1 });
    const peer = await world.peer();
    let region!: Region;
    await world.settle(peer.join('g', { setup: (g) => (region = map(g, 'board', { pages: board.pages, pageSize: 128 })) }));
    await world.settle(
      region.withLock(board.range('flights'), 'write', (section) => {
        const flight = board.object(section, 'flights', 3, Flight);
        flight.callsign = 'AF123';
        flight.level = 350;
        flight.heading = 271.5;
        flight.cleared = true;
        flight.waypoints.set(2, 77);
        assert.throws(() => (flight.callsign = 'MUCH TOO LONG'), (e: unknown) => e instanceof SynodError && e.code === 'INVALID_ARGUMENT');
        assert.throws(() => flight.waypoints.set(3, 1), (e: unknown) => e instanceof SynodError);
        assert.throws(() => board.object(section, 'strips', 0), (e: unknown) => e instanceof SynodError && e.code === 'NOT_LOCKED', 'strips are on other pages');
      }),
    );
    const section = await world.settle(region.lock(board.range('flights', 3), 'read'));
    const flight = board.object(section, 'flights', 3, Flight);
    assert.deepEqual({ ...flight, waypoints: flight.waypoints.toArray() }, { callsign: 'AF123', level: 350, heading: 271.5, cleared: true, waypoints: [0, 0, 77] });
    assert.throws(() => (flight.level = 1), (e: unknown) => e instanceof SynodError && e.code === 'NOT_LOCKED', 'a read lock');
    await world.settle(section.release());
    assert.throws(() => flight.level, (e: unknown) => e instanceof SynodError && e.code === 'NOT_LOCKED', 'after release');
    assert.throws(() => layout(32).record('big', Flight), (e: unknown) => e instanceof SynodError);
  });
});
