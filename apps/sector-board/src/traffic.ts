/**
 * The radar feed's simulated traffic: two sectors side by side, flights entering from either
 * edge on airways that cross, climbing, descending and turning towards their clearances. Pure:
 * time and randomness are arguments, so a test can replay it.
 */
import type { Flight, FlightPosition, SectorName } from './model.js';

export interface Airspace {
  /** West to east; each sector is `sectorWidthNm` wide and `heightNm` tall. */
  readonly sectors: readonly SectorName[];
  readonly sectorWidthNm: number;
  readonly heightNm: number;
}

export const AIRSPACE: Airspace = { sectors: ['D5', 'D6'], sectorWidthNm: 60, heightNm: 80 };

export const CLIMB_FPM = 2000;
export const TURN_DEG_PER_S = 3;

/** A small seeded generator (mulberry32): the feed's traffic is replayable from its seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

export function sectorAt(airspace: Airspace, xNm: number): SectorName {
  const index = Math.min(airspace.sectors.length - 1, Math.max(0, Math.floor(xNm / airspace.sectorWidthNm)));
  return airspace.sectors[index]!;
}

const AIRLINES = ['AFR', 'BAW', 'DLH', 'KLM', 'EZY', 'RYR', 'SAS', 'IBE', 'SWR', 'AUA', 'TAP', 'UAE'];

/** A new flight at the west or east edge, on one of a few airways, at a cruising level. */
export function spawnFlight(airspace: Airspace, random: () => number, taken: ReadonlySet<string>): Flight {
  let callsign: string;
  do callsign = `${AIRLINES[Math.floor(random() * AIRLINES.length)]}${100 + Math.floor(random() * 900)}`;
  while (taken.has(callsign));
  const eastbound = random() < 0.5;
  const widthNm = airspace.sectorWidthNm * airspace.sectors.length;
  // Airways converge on the boundary, so some pairs meet: that is what controllers are for.
  const y = airspace.heightNm * (0.2 + 0.6 * random());
  const targetY = airspace.heightNm * (0.3 + 0.4 * random());
  const x = eastbound ? 0.5 : widthNm - 0.5;
  const dx = eastbound ? widthNm : -widthNm;
  const headingDeg = Math.round(normalizeDeg((Math.atan2(dx, targetY - y) * 180) / Math.PI));
  const level = 240 + 10 * Math.floor(random() * 14); // FL240..FL370
  const altitudeFt = level * 100;
  const sector = sectorAt(airspace, x);
  const nextSector = airspace.sectors.find((name) => name !== sector) ?? sector;
  return {
    callsign,
    x,
    y,
    altitudeFt,
    clearedAltitudeFt: altitudeFt,
    headingDeg,
    clearedHeadingDeg: headingDeg,
    speedKt: 380 + Math.floor(random() * 100),
    sector,
    nextSector,
  };
}

/** A board already busy when the feed starts on an empty one: flights spread along their airways. */
export function initialTraffic(airspace: Airspace, random: () => number, count: number): Flight[] {
  const flights: Flight[] = [];
  const taken = new Set<string>();
  while (flights.length < count) {
    const flight = spawnFlight(airspace, random, taken);
    advance(flight, 60 * (1 + random() * 12)); // 1 to 13 minutes down the airway
    if (outside(airspace, flight)) continue;
    flight.sector = sectorAt(airspace, flight.x);
    flight.nextSector = airspace.sectors.find((name) => name !== flight.sector) ?? flight.sector;
    taken.add(flight.callsign);
    flights.push(flight);
  }
  return flights;
}

/** Moves a flight by `seconds`: towards its cleared heading and altitude, then along its heading. */
export function advance(flight: Flight, seconds: number): void {
  const turn = shortestTurnDeg(flight.headingDeg, flight.clearedHeadingDeg);
  const maxTurn = TURN_DEG_PER_S * seconds;
  flight.headingDeg = normalizeDeg(flight.headingDeg + Math.max(-maxTurn, Math.min(maxTurn, turn)));
  const climb = flight.clearedAltitudeFt - flight.altitudeFt;
  const maxClimb = (CLIMB_FPM / 60) * seconds;
  flight.altitudeFt += Math.max(-maxClimb, Math.min(maxClimb, climb));
  const distanceNm = (flight.speedKt / 3600) * seconds;
  const radians = (flight.headingDeg * Math.PI) / 180;
  flight.x += distanceNm * Math.sin(radians);
  flight.y += distanceNm * Math.cos(radians);
}

export function outside(airspace: Airspace, flight: Flight): boolean {
  const widthNm = airspace.sectorWidthNm * airspace.sectors.length;
  return flight.x < 0 || flight.x > widthNm || flight.y < 0 || flight.y > airspace.heightNm;
}

export function positionOf(flight: Flight): FlightPosition {
  const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;
  return [flight.callsign, round(flight.x, 2), round(flight.y, 2), Math.round(flight.altitudeFt), round(flight.headingDeg, 1)];
}

export function normalizeDeg(degrees: number): number {
  return ((degrees % 360) + 360) % 360;
}

function shortestTurnDeg(from: number, to: number): number {
  const delta = normalizeDeg(to - from);
  return delta > 180 ? delta - 360 : delta;
}
