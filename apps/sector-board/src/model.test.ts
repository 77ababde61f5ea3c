import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Board, conflictsOf, isBoardEvent, type BoardEvent, type FlightPosition } from './model.js';
import { AIRSPACE, advance, initialTraffic, outside, positionOf, seeded, spawnFlight } from './traffic.js';

const FEED = 'feed/1';
const ALICE = 'alice/1';
const BOB = 'bob/1';

function board(): Board {
  const made = new Board(['D5', 'D6']);
  made.apply({ t: 'hello', profile: { name: 'Radar feed', kind: 'node', role: 'radar-feed' } }, FEED);
  made.apply({ t: 'hello', profile: { name: 'Alice', kind: 'browser', role: 'controller' } }, ALICE);
  made.apply({ t: 'hello', profile: { name: 'Bob', kind: 'browser', role: 'controller' } }, BOB);
  const flight = spawnFlight(AIRSPACE, seeded(1), new Set());
  made.apply({ t: 'spawn', flight: { ...flight, callsign: 'AFR1', sector: 'D5', nextSector: 'D6' } }, FEED);
  return made;
}

describe('the board', () => {
  it('a claim is a lock: the first wins, only the holder clears, releases or hands off', () => {
    const b = board();
    assert.deepEqual(b.apply({ t: 'claim', callsign: 'AFR1' }, ALICE), { ok: true });
    assert.equal(b.apply({ t: 'claim', callsign: 'AFR1' }, BOB).ok, false);
    assert.equal(b.apply({ t: 'clear', callsign: 'AFR1', altitudeFt: 20000 }, BOB).ok, false);
    assert.equal(b.apply({ t: 'handoff', callsign: 'AFR1', to: 'D6' }, BOB).ok, false);
    assert.equal(b.apply({ t: 'release', callsign: 'AFR1' }, BOB).ok, false);
    assert.notEqual(b.flights.get('AFR1')!.clearedAltitudeFt, 20000);
    assert.equal(b.apply({ t: 'clear', callsign: 'AFR1', altitudeFt: 20000, headingDeg: 90 }, ALICE).ok, true);
    assert.equal(b.flights.get('AFR1')!.clearedAltitudeFt, 20000);
    assert.equal(b.flights.get('AFR1')!.clearedHeadingDeg, 90);
    assert.equal(b.apply({ t: 'handoff', callsign: 'AFR1', to: 'D6' }, ALICE).ok, true);
    const flight = b.flights.get('AFR1')!;
    assert.deepEqual([flight.sector, flight.nextSector, flight.owner], ['D6', 'D5', undefined]);
    assert.equal(b.apply({ t: 'claim', callsign: 'AFR1' }, BOB).ok, true);
  });

  it('only the radar feed moves, adds and removes flights', () => {
    const b = board();
    assert.equal(b.apply({ t: 'tick', tick: 1, flights: [['AFR1', 1, 1, 30000, 90]] }, ALICE).ok, false);
    assert.equal(b.apply({ t: 'remove', callsign: 'AFR1' }, ALICE).ok, false);
    assert.equal(b.apply({ t: 'tick', tick: 1, flights: [['AFR1', 1, 2, 30000, 90]] }, FEED).ok, true);
    assert.deepEqual([b.flights.get('AFR1')!.x, b.flights.get('AFR1')!.y], [1, 2]);
    assert.equal(b.apply({ t: 'remove', callsign: 'AFR1' }, FEED).ok, true);
    assert.equal(b.flights.size, 0);
  });

  it('a member that leaves the view loses its claims, at the same point everywhere', () => {
    const b = board();
    b.apply({ t: 'claim', callsign: 'AFR1' }, ALICE);
    assert.deepEqual(b.viewChanged([FEED, BOB]), ['AFR1']);
    assert.equal(b.flights.get('AFR1')!.owner, undefined);
    assert.equal(b.profiles.has(ALICE), false);
  });

  it('two replicas fed the same sequence are identical, and a snapshot restores one', () => {
    const random = seeded(9);
    const events: [BoardEvent, string][] = [];
    const members = [ALICE, BOB];
    for (let i = 0; i < 300; i++) {
      const sender = members[Math.floor(random() * 2)]!;
      const callsign = 'AFR1';
      const pick = Math.floor(random() * 4);
      events.push([
        pick === 0
          ? { t: 'claim', callsign }
          : pick === 1
            ? { t: 'release', callsign }
            : pick === 2
              ? { t: 'clear', callsign, altitudeFt: 10000 + 1000 * Math.floor(random() * 20) }
              : { t: 'handoff', callsign, to: random() < 0.5 ? 'D5' : 'D6' },
        sender,
      ]);
    }
    const one = board();
    const two = board();
    for (const [event, sender] of events) assert.deepEqual(one.apply(event, sender), two.apply(event, sender));
    assert.deepEqual(one.snapshot(), two.snapshot());
    const three = new Board(['D5', 'D6']);
    three.load(JSON.parse(JSON.stringify(one.snapshot())));
    assert.deepEqual(three.snapshot(), one.snapshot());
  });

  it('hostile events are refused, never thrown', () => {
    const b = board();
    const hostile: unknown[] = [
      null,
      42,
      { t: 'claim' },
      { t: 'claim', callsign: 'x'.repeat(100) },
      { t: 'clear', callsign: 'AFR1', altitudeFt: 1e9 },
      { t: 'clear', callsign: 'AFR1' },
      { t: 'clear', callsign: 'AFR1', headingDeg: Number.NaN },
      { t: 'tick', tick: 1, flights: [['AFR1', 'x', 1, 1, 1]] },
      { t: 'tick', tick: 1, flights: Array.from({ length: 501 }, () => ['A', 1, 1, 1, 1]) },
      { t: 'spawn', flight: { callsign: 'X' } },
      { t: 'hello', profile: { name: 'x', kind: 'robot', role: 'controller' } },
      { t: 'handoff', callsign: 'AFR1', to: 'Z9' },
      { t: 'nope' },
    ];
    b.apply({ t: 'claim', callsign: 'AFR1' }, ALICE);
    for (const event of hostile) assert.equal(b.apply(event as BoardEvent, ALICE).ok, false, JSON.stringify(event)?.slice(0, 80));
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const outcome = b.apply(value as BoardEvent, ALICE);
        assert.equal(typeof outcome.ok, 'boolean');
        if (!isBoardEvent(value)) assert.equal(outcome.ok, false);
      }),
    );
  });
});

describe('conflict alerts', () => {
  it('pairs closer than 5 NM and 1000 ft, whatever the order of the positions', () => {
    const positions: FlightPosition[] = [
      ['A', 0, 0, 30000, 90],
      ['B', 3, 3, 30500, 270],
      ['C', 3, 3, 31500, 270], // 1000 ft above B and 1500 ft above A: separated
      ['D', 50, 50, 30000, 0],
    ];
    const expected = [{ a: 'A', b: 'B', distanceNm: 4.2, verticalFt: 500 }];
    assert.deepEqual(conflictsOf(positions), expected);
    fc.assert(
      fc.property(fc.shuffledSubarray(positions, { minLength: positions.length }), (shuffled) => {
        assert.deepEqual(conflictsOf(shuffled), expected);
      }),
    );
  });
});

describe('traffic', () => {
  it('flights turn and climb towards their clearances, and leave the airspace', () => {
    const flight = spawnFlight(AIRSPACE, seeded(3), new Set());
    flight.clearedAltitudeFt = flight.altitudeFt + 4000;
    flight.clearedHeadingDeg = (flight.headingDeg + 90) % 360;
    advance(flight, 60);
    assert.equal(Math.round(flight.altitudeFt), flight.clearedAltitudeFt - 2000);
    advance(flight, 60);
    assert.equal(Math.round(flight.altitudeFt), flight.clearedAltitudeFt);
    assert.equal(Math.round(flight.headingDeg), flight.clearedHeadingDeg);
    for (let i = 0; i < 120 && !outside(AIRSPACE, flight); i++) advance(flight, 60);
    assert.equal(outside(AIRSPACE, flight), true);
    assert.equal(isBoardEvent({ t: 'tick', tick: 0, flights: [positionOf(flight)] }), true);
  });

  it('initial traffic is inside the airspace, with distinct callsigns, from a seed', () => {
    const flights = initialTraffic(AIRSPACE, seeded(5), 8);
    assert.equal(new Set(flights.map((flight) => flight.callsign)).size, 8);
    assert.ok(flights.every((flight) => !outside(AIRSPACE, flight)));
    assert.deepEqual(initialTraffic(AIRSPACE, seeded(5), 8), flights);
  });
});
