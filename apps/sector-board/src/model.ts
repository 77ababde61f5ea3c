/**
 * The sector board as a replicated state machine: every member applies the same events in the
 * same order and so holds the same board. Pure: no I/O, no clock, no randomness.
 *
 * Who sends what:
 * - The radar feed (one Node peer) owns the flights' kinematics. Each second it moves them and
 *   sends a `tick` by fbcast with every flight's position, altitude and heading. A conflict alert
 *   is a function of one tick's contents alone, so every member that delivers the tick computes
 *   the same alerts, whatever abcasts it delivered around it.
 * - Controllers send `claim`, `release`, `clear` (altitude / heading) and `handoff` by abcast. The
 *   claim is a lock held in the board itself: in total order, the first claim of a free flight
 *   wins at every member, and only the holder's clearances and handoff take effect. A member that
 *   leaves the view loses its claims at the same point of the sequence everywhere.
 * - Every member announces itself (`hello`: a name, browser or node, a role) by abcast, so the
 *   view panel can say who is who.
 */

export type SectorName = string;

export interface Flight {
  readonly callsign: string;
  /** Nautical miles east / north of the board's origin. */
  x: number;
  y: number;
  altitudeFt: number;
  clearedAltitudeFt: number;
  headingDeg: number;
  clearedHeadingDeg: number;
  speedKt: number;
  sector: SectorName;
  nextSector: SectorName;
  /** The member whose controller claimed it. */
  owner?: string;
}

export interface Profile {
  readonly name: string;
  readonly kind: 'browser' | 'node';
  readonly role: 'controller' | 'radar-feed' | 'sector-peer';
  readonly sector?: SectorName;
}

export type BoardEvent =
  | { readonly t: 'hello'; readonly profile: Profile }
  | { readonly t: 'tick'; readonly tick: number; readonly flights: readonly FlightPosition[] }
  | { readonly t: 'spawn'; readonly flight: Flight }
  | { readonly t: 'remove'; readonly callsign: string }
  | { readonly t: 'claim'; readonly callsign: string }
  | { readonly t: 'release'; readonly callsign: string }
  | { readonly t: 'clear'; readonly callsign: string; readonly altitudeFt?: number; readonly headingDeg?: number }
  | { readonly t: 'handoff'; readonly callsign: string; readonly to: SectorName };

/** [callsign, x, y, altitudeFt, headingDeg] */
export type FlightPosition = readonly [string, number, number, number, number];

export interface Conflict {
  readonly a: string;
  readonly b: string;
  readonly distanceNm: number;
  readonly verticalFt: number;
}

/** Separation minima: closer than this horizontally AND vertically is a conflict. */
export const SEPARATION_NM = 5;
export const SEPARATION_FT = 1000;
export const MIN_ALTITUDE_FT = 2000;
export const MAX_ALTITUDE_FT = 45000;

export interface Outcome {
  readonly ok: boolean;
  readonly reason?: string;
}

const OK: Outcome = { ok: true };
const refuse = (reason: string): Outcome => ({ ok: false, reason });

export interface BoardSnapshot {
  readonly flights: Flight[];
  readonly profiles: [string, Profile][];
  readonly tick: number;
  readonly conflicts: Conflict[];
  readonly sectors: SectorName[];
}

export class Board {
  readonly flights = new Map<string, Flight>();
  readonly profiles = new Map<string, Profile>();
  tick = -1;
  conflicts: Conflict[] = [];

  constructor(readonly sectors: readonly SectorName[]) {}

  /** Applies one delivered event from `sender`; returns whether it took effect, and why not. */
  apply(event: BoardEvent, sender: string): Outcome {
    if (!isBoardEvent(event)) return refuse('malformed event');
    switch (event.t) {
      case 'hello':
        this.profiles.set(sender, event.profile);
        return OK;
      case 'tick':
        return this.applyTick(event.tick, event.flights, sender);
      case 'spawn': {
        if (!this.isFeed(sender)) return refuse('only the radar feed adds flights');
        if (this.flights.has(event.flight.callsign)) return refuse('already on the board');
        const { owner: _owner, ...flight } = event.flight;
        this.flights.set(flight.callsign, { ...flight });
        return OK;
      }
      case 'remove':
        if (!this.isFeed(sender)) return refuse('only the radar feed removes flights');
        return this.flights.delete(event.callsign) ? OK : refuse('no such flight');
    }
    const flight = this.flights.get(event.callsign);
    if (!flight) return refuse(`no flight ${event.callsign}`);
    switch (event.t) {
      case 'claim':
        if (flight.owner !== undefined) return refuse(`${flight.callsign} is claimed by ${this.nameOf(flight.owner)}`);
        flight.owner = sender;
        return OK;
      case 'release':
        if (flight.owner !== sender) return refuse('not the holder');
        delete flight.owner;
        return OK;
      case 'clear':
        if (flight.owner !== sender) return refuse(`${flight.callsign} is not claimed by you`);
        if (event.altitudeFt !== undefined) flight.clearedAltitudeFt = event.altitudeFt;
        if (event.headingDeg !== undefined) flight.clearedHeadingDeg = event.headingDeg;
        return OK;
      case 'handoff':
        if (flight.owner !== sender) return refuse(`${flight.callsign} is not claimed by you`);
        if (!this.sectors.includes(event.to) || event.to === flight.sector) return refuse('no such next sector');
        flight.sector = event.to;
        flight.nextSector = this.sectors.find((sector) => sector !== event.to) ?? event.to;
        delete flight.owner;
        return OK;
    }
  }

  /** A view without some members: their claims go back to the pool, at this point everywhere. */
  viewChanged(members: readonly string[]): string[] {
    const present = new Set(members);
    const released: string[] = [];
    for (const flight of this.flights.values()) {
      if (flight.owner !== undefined && !present.has(flight.owner)) {
        delete flight.owner;
        released.push(flight.callsign);
      }
    }
    for (const member of [...this.profiles.keys()]) if (!present.has(member)) this.profiles.delete(member);
    return released;
  }

  nameOf(member: string): string {
    return this.profiles.get(member)?.name ?? member;
  }

  snapshot(): BoardSnapshot {
    return {
      flights: [...this.flights.values()].map((flight) => ({ ...flight })),
      profiles: [...this.profiles],
      tick: this.tick,
      conflicts: this.conflicts,
      sectors: [...this.sectors],
    };
  }

  load(snapshot: BoardSnapshot): void {
    this.flights.clear();
    for (const flight of snapshot.flights) this.flights.set(flight.callsign, { ...flight });
    this.profiles.clear();
    for (const [member, profile] of snapshot.profiles) this.profiles.set(member, profile);
    this.tick = snapshot.tick;
    this.conflicts = snapshot.conflicts;
  }

  private isFeed(sender: string): boolean {
    return this.profiles.get(sender)?.role === 'radar-feed';
  }

  private applyTick(tick: number, positions: readonly FlightPosition[], sender: string): Outcome {
    if (!this.isFeed(sender)) return refuse('only the radar feed sends positions');
    for (const [callsign, x, y, altitudeFt, headingDeg] of positions) {
      const flight = this.flights.get(callsign);
      if (!flight) continue;
      flight.x = x;
      flight.y = y;
      flight.altitudeFt = altitudeFt;
      flight.headingDeg = headingDeg;
    }
    this.tick = tick;
    this.conflicts = conflictsOf(positions);
    return OK;
  }
}

/** Every pair closer than the minima, from one tick's positions alone. */
export function conflictsOf(positions: readonly FlightPosition[]): Conflict[] {
  const sorted = [...positions].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const found: Conflict[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i]!;
      const b = sorted[j]!;
      const distanceNm = Math.hypot(a[1] - b[1], a[2] - b[2]);
      const verticalFt = Math.abs(a[3] - b[3]);
      if (distanceNm < SEPARATION_NM && verticalFt < SEPARATION_FT) {
        found.push({ a: a[0], b: b[0], distanceNm: Math.round(distanceNm * 10) / 10, verticalFt });
      }
    }
  }
  return found;
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const text = (value: unknown, max = 64): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

/** The network is hostile: an event is applied only if it has exactly the shape it claims. */
export function isBoardEvent(value: unknown): value is BoardEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  switch (event['t']) {
    case 'hello': {
      const profile = event['profile'] as Record<string, unknown> | undefined;
      return (
        typeof profile === 'object' &&
        profile !== null &&
        text(profile['name'], 32) &&
        (profile['kind'] === 'browser' || profile['kind'] === 'node') &&
        (profile['role'] === 'controller' || profile['role'] === 'radar-feed' || profile['role'] === 'sector-peer') &&
        (profile['sector'] === undefined || text(profile['sector'], 16))
      );
    }
    case 'tick':
      return (
        finite(event['tick']) &&
        Array.isArray(event['flights']) &&
        event['flights'].length <= 500 &&
        event['flights'].every(
          (p: unknown) => Array.isArray(p) && p.length === 5 && text(p[0], 12) && finite(p[1]) && finite(p[2]) && finite(p[3]) && finite(p[4]),
        )
      );
    case 'spawn':
      return isFlight(event['flight']);
    case 'remove':
    case 'claim':
    case 'release':
      return text(event['callsign'], 12);
    case 'clear':
      return (
        text(event['callsign'], 12) &&
        (event['altitudeFt'] === undefined ||
          (finite(event['altitudeFt']) && event['altitudeFt'] >= MIN_ALTITUDE_FT && event['altitudeFt'] <= MAX_ALTITUDE_FT)) &&
        (event['headingDeg'] === undefined || (finite(event['headingDeg']) && event['headingDeg'] >= 0 && event['headingDeg'] < 360)) &&
        (event['altitudeFt'] !== undefined || event['headingDeg'] !== undefined)
      );
    case 'handoff':
      return text(event['callsign'], 12) && text(event['to'], 16);
    default:
      return false;
  }
}

function isFlight(value: unknown): value is Flight {
  if (typeof value !== 'object' || value === null) return false;
  const flight = value as Record<string, unknown>;
  return (
    text(flight['callsign'], 12) &&
    ['x', 'y', 'altitudeFt', 'clearedAltitudeFt', 'headingDeg', 'clearedHeadingDeg', 'speedKt'].every((key) => finite(flight[key])) &&
    text(flight['sector'], 16) &&
    text(flight['nextSector'], 16)
  );
}

/** Flight level for display: 35000 ft → "350". */
export function flightLevel(altitudeFt: number): string {
  return String(Math.round(altitudeFt / 100)).padStart(3, '0');
}
