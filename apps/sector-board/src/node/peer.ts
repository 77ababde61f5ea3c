/**
 * The demo's Node peers, over WebRTC (node-datachannel) so they share the group with the browsers:
 *
 *   node … src/node/peer.ts feed   ws://127.0.0.1:8787   the radar feed: moves flights, sends positions
 *   node … src/node/peer.ts sector ws://127.0.0.1:8787   sector D6's automatic controller
 *
 * Stops on SIGINT / SIGTERM after leaving the group.
 */
import { createPeer } from '@synod/peer';
import { webrtc } from '@synod/transport-webrtc';
import { SEPARATION_FT } from '../model.js';
import { BoardSession, GROUP } from '../session.js';
import { AIRSPACE, advance, initialTraffic, outside, positionOf, seeded, spawnFlight } from '../traffic.js';

const [role = 'feed', signaling = 'ws://127.0.0.1:8787', seedText = '1'] = process.argv.slice(2);
const TICK_MS = 1000;
const TARGET_FLIGHTS = 9;

const peer = await createPeer({ transport: webrtc({ signaling, room: GROUP }) });
const session = await BoardSession.join(peer, {
  profile:
    role === 'feed'
      ? { name: 'Radar feed', kind: 'node', role: 'radar-feed' }
      : { name: 'Sector D6 (auto)', kind: 'node', role: 'sector-peer', sector: 'D6' },
  sectors: AIRSPACE.sectors,
});
console.log(`${role}: joined ${GROUP} as ${session.self}, view of ${session.view?.members.length}`);
session.on('log', (entry) => console.log(`${role}: ${entry.text}`));

const timer = setInterval(() => void (role === 'feed' ? feedTick() : sectorTick()).catch((error) => console.error(error)), TICK_MS);

const random = seeded(Number(seedText) || 1);
let tick = Math.max(0, session.board.tick + 1);
if (role === 'feed' && session.board.flights.size === 0) {
  for (const flight of initialTraffic(AIRSPACE, random, TARGET_FLIGHTS - 2)) void session.send({ t: 'spawn', flight });
}

async function feedTick(): Promise<void> {
  const board = session.board;
  const positions = [];
  for (const flight of board.flights.values()) {
    const moved = { ...flight };
    advance(moved, TICK_MS / 1000);
    if (outside(AIRSPACE, moved)) void session.send({ t: 'remove', callsign: flight.callsign });
    else positions.push(positionOf(moved));
  }
  if (board.flights.size < TARGET_FLIGHTS && tick % 4 === 0) {
    void session.send({ t: 'spawn', flight: spawnFlight(AIRSPACE, random, new Set(board.flights.keys())) });
  }
  await session.publish({ t: 'tick', tick: tick++, flights: positions });
}

/** Sector D6's controller: takes what enters its sector, resolves its conflicts, hands flights on. */
async function sectorTick(): Promise<void> {
  const board = session.board;
  for (const flight of board.flights.values()) {
    if (flight.sector !== 'D6') continue;
    if (flight.owner === undefined) {
      void session.claim(flight.callsign);
      continue;
    }
    if (flight.owner !== session.self) continue;
    const westbound = flight.headingDeg > 180;
    const nearBoundary = flight.x < AIRSPACE.sectorWidthNm + 8;
    if (westbound && nearBoundary) void session.handoff(flight.callsign, 'D5');
  }
  for (const conflict of board.conflicts) {
    const mine = [conflict.a, conflict.b].map((callsign) => board.flights.get(callsign)).find((flight) => flight?.owner === session.self);
    if (mine && mine.clearedAltitudeFt === Math.round(mine.altitudeFt)) {
      void session.clear(mine.callsign, { altitudeFt: mine.clearedAltitudeFt + 2 * SEPARATION_FT });
    }
  }
}

async function stop(): Promise<void> {
  clearInterval(timer);
  await peer.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
