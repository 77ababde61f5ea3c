/**
 * The controller's display in a browser tab: a radar scope, the flight strips, the selected
 * flight's controls, the group's view and the event log. It joins the sector group over WebRTC
 * (the signaling server is the page's host, port 8787 unless ?signal= says otherwise) and keeps
 * the board in IndexedDB, so a reloaded tab shows it at once and then takes the group's state.
 */
import { createPeer, type Peer } from '@synod/peer';
import { openStorage, type Storage } from '@synod/storage';
import { webrtc } from '@synod/transport-webrtc';
import { flightLevel, MAX_ALTITUDE_FT, MIN_ALTITUDE_FT, type BoardSnapshot, type Flight } from '../model.js';
import { BoardSession, GROUP, type LogEntry } from '../session.js';
import { AIRSPACE } from '../traffic.js';

const STORED_BOARD = 'board';
const params = new URLSearchParams(location.search);
const signalingUrl = params.get('signal') ?? `ws://${location.hostname || '127.0.0.1'}:8787`;
const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;

const nameInput = $<HTMLInputElement>('#name');
const storedName = localStorage.getItem('synod.controller');
const name = (params.get('name') ?? storedName ?? `Controller ${Math.floor(Math.random() * 900 + 100)}`).slice(0, 24);
nameInput.value = name;
nameInput.disabled = true; // the name is announced once, at join
localStorage.setItem('synod.controller', name);

let session: BoardSession | undefined;
let selected: string | undefined;
let cutOff = false;

async function main(): Promise<void> {
  const storage = await openStorage('sector-board').catch(() => undefined);
  const restored = await loadBoard(storage);
  if (restored) drawAll(restored); // shown while the group is joined
  const peer: Peer = await createPeer({ transport: webrtc({ signaling: signalingUrl, room: GROUP }), trace: false });
  const joined = await BoardSession.join(peer, {
    profile: { name, kind: 'browser', role: 'controller', sector: 'D5' },
    sectors: AIRSPACE.sectors,
    ...(restored ? { restored } : {}),
    persist: (snapshot) => void storage?.put(STORED_BOARD, new TextEncoder().encode(JSON.stringify(snapshot))).catch(() => undefined),
  });
  session = joined;
  (globalThis as { sectorBoard?: unknown }).sectorBoard = joined; // for the e2e test and the curious
  joined.group.on('minority', () => ((cutOff = true), setStatus()));
  joined.group.on('majority', () => ((cutOff = false), setStatus()));
  joined.group.on('rejoined', () => ((cutOff = false), setStatus()));
  joined.on('change', () => scheduleDraw());
  joined.on('log', (entry) => appendLog(entry));
  for (const entry of joined.log) appendLog(entry);
  setStatus();
  scheduleDraw();
  addEventListener('pagehide', () => void peer.close({ leave: false }));
}

async function loadBoard(storage: Storage | undefined): Promise<BoardSnapshot | undefined> {
  const bytes = await storage?.get(STORED_BOARD).catch(() => undefined);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as BoardSnapshot;
  } catch {
    return undefined;
  }
}

function setStatus(): void {
  const status = $('#status');
  status.className = `status ${!session ? 'connecting' : cutOff ? 'cutoff' : 'online'}`;
  status.textContent = !session ? 'CONNECTING' : cutOff ? 'CUT OFF — BOARD FROZEN' : `ONLINE · ${session.view?.members.length ?? 0} MEMBERS`;
}

let drawPending = false;
function scheduleDraw(): void {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    if (session) drawAll(session.board.snapshot());
  });
}

function drawAll(snapshot: BoardSnapshot): void {
  drawRadar(snapshot);
  drawStrips(snapshot);
  drawSelected(snapshot);
  drawMembers();
  drawAlerts(snapshot);
  setStatus();
}

// ------------------------------------------------------------------ radar

const canvas = $<HTMLCanvasElement>('#radar');
const context = canvas.getContext('2d')!;
const WIDTH_NM = AIRSPACE.sectorWidthNm * AIRSPACE.sectors.length;
const MARGIN = 30;
const scale = () => Math.min((canvas.width - 2 * MARGIN) / WIDTH_NM, (canvas.height - 2 * MARGIN) / AIRSPACE.heightNm);
const toScreen = (xNm: number, yNm: number): [number, number] => [MARGIN + xNm * scale(), canvas.height - MARGIN - yNm * scale()];

function drawRadar(snapshot: BoardSnapshot): void {
  const g = context;
  g.fillStyle = '#020705';
  g.fillRect(0, 0, canvas.width, canvas.height);
  // 10 NM grid
  g.strokeStyle = '#0d2019';
  g.lineWidth = 1;
  for (let x = 0; x <= WIDTH_NM; x += 10) line(...toScreen(x, 0), ...toScreen(x, AIRSPACE.heightNm));
  for (let y = 0; y <= AIRSPACE.heightNm; y += 10) line(...toScreen(0, y), ...toScreen(WIDTH_NM, y));
  // sectors
  AIRSPACE.sectors.forEach((sector, index) => {
    const [x0, y0] = toScreen(index * AIRSPACE.sectorWidthNm, AIRSPACE.heightNm);
    const [x1, y1] = toScreen((index + 1) * AIRSPACE.sectorWidthNm, 0);
    g.strokeStyle = '#2f6b55';
    g.lineWidth = 2;
    g.strokeRect(x0, y0, x1 - x0, y1 - y0);
    g.fillStyle = '#1d4638';
    g.font = 'bold 44px monospace';
    g.fillText(sector, x0 + 14, y0 + 52);
  });
  g.fillStyle = '#2f6b55';
  g.font = '12px monospace';
  g.fillText('10 NM grid · separation 5 NM / 1000 ft · heading vector: 1 min', MARGIN, canvas.height - 10);
  const legend: [string, string][] = [['#5cc8ff', 'yours'], ['#f2f2f2', 'claimed'], ['#7fae9b', 'unclaimed'], ['#ff4d4d', 'conflict']];
  let legendX = canvas.width - MARGIN - 360;
  for (const [color, label] of legend) {
    g.strokeStyle = color;
    g.strokeRect(legendX, canvas.height - 19, 9, 9);
    g.fillStyle = color;
    g.fillText(label, legendX + 14, canvas.height - 10);
    legendX += 90;
  }
  const conflicted = new Set(snapshot.conflicts.flatMap((conflict) => [conflict.a, conflict.b]));
  const self = session?.self;
  for (const flight of snapshot.flights) drawFlight(flight, conflicted.has(flight.callsign), self);
  for (const conflict of snapshot.conflicts) {
    const a = snapshot.flights.find((flight) => flight.callsign === conflict.a);
    const b = snapshot.flights.find((flight) => flight.callsign === conflict.b);
    if (!a || !b) continue;
    g.strokeStyle = '#ff4d4d';
    g.setLineDash([6, 4]);
    line(...toScreen(a.x, a.y), ...toScreen(b.x, b.y));
    g.setLineDash([]);
  }
}

function drawFlight(flight: Flight, conflict: boolean, self: string | undefined): void {
  const g = context;
  const [x, y] = toScreen(flight.x, flight.y);
  const color = conflict ? '#ff4d4d' : flight.owner === undefined ? '#7fae9b' : flight.owner === self ? '#5cc8ff' : '#f2f2f2';
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = flight.callsign === selected ? 3 : 1.5;
  g.strokeRect(x - 5, y - 5, 10, 10);
  if (conflict) {
    g.beginPath();
    g.arc(x, y, 5 * scale(), 0, Math.PI * 2); // the 5 NM protected zone
    g.stroke();
  }
  // one minute ahead
  const radians = (flight.headingDeg * Math.PI) / 180;
  const aheadNm = flight.speedKt / 60;
  const [hx, hy] = toScreen(flight.x + aheadNm * Math.sin(radians), flight.y + aheadNm * Math.cos(radians));
  line(x, y, hx, hy);
  // data block, left of the symbol near the east edge so it stays on the scope
  const left = x > canvas.width - MARGIN - 140;
  g.textAlign = left ? 'right' : 'left';
  const dx = left ? -10 : 10;
  const trend = flight.clearedAltitudeFt > flight.altitudeFt + 50 ? '↑' : flight.clearedAltitudeFt < flight.altitudeFt - 50 ? '↓' : ' ';
  g.font = 'bold 14px monospace';
  g.fillText(flight.callsign, x + dx, y - 14);
  g.font = '13px monospace';
  g.fillText(`${flightLevel(flight.altitudeFt)}${trend}${flightLevel(flight.clearedAltitudeFt)} ${Math.round(flight.speedKt / 10)}`, x + dx, y + 1);
  g.fillStyle = '#6f8f82';
  g.fillText(`${flight.sector}→${flight.nextSector}${flight.owner ? ` ${initials(session?.board.nameOf(flight.owner) ?? '')}` : ''}`, x + dx, y + 15);
  g.textAlign = 'left';
}

function line(x0: number, y0: number, x1: number, y1: number): void {
  context.beginPath();
  context.moveTo(x0, y0);
  context.lineTo(x1, y1);
  context.stroke();
}

function initials(text: string): string {
  return (text.match(/[A-Za-z0-9]+/g) ?? []).map((word) => word[0]).join('').slice(0, 3).toUpperCase();
}

canvas.addEventListener('click', (event) => {
  if (!session) return;
  const rect = canvas.getBoundingClientRect();
  const ratio = Math.min(rect.width / canvas.width, rect.height / canvas.height);
  const offsetX = (rect.width - canvas.width * ratio) / 2;
  const offsetY = (rect.height - canvas.height * ratio) / 2;
  const px = (event.clientX - rect.left - offsetX) / ratio;
  const py = (event.clientY - rect.top - offsetY) / ratio;
  let best: [string, number] | undefined;
  for (const flight of session.board.flights.values()) {
    const [x, y] = toScreen(flight.x, flight.y);
    const distance = Math.hypot(x - px, y - py);
    if (distance < 30 && (!best || distance < best[1])) best = [flight.callsign, distance];
  }
  if (best) select(best[0]);
});

// ------------------------------------------------------------------ strips and controls

function select(callsign: string | undefined): void {
  selected = callsign;
  if (session) drawAll(session.board.snapshot());
}

/** Rows are kept per callsign and updated in place, so a click never lands on a row being replaced. */
const stripRows = new Map<string, HTMLTableRowElement>();

function drawStrips(snapshot: BoardSnapshot): void {
  const body = $('#strips tbody');
  const conflicted = new Set(snapshot.conflicts.flatMap((conflict) => [conflict.a, conflict.b]));
  const flights = [...snapshot.flights].sort((a, b) => a.sector.localeCompare(b.sector) || a.callsign.localeCompare(b.callsign));
  const present = new Set(flights.map((flight) => flight.callsign));
  for (const [callsign, row] of stripRows) {
    if (!present.has(callsign)) {
      row.remove();
      stripRows.delete(callsign);
    }
  }
  flights.forEach((flight, index) => {
    let row = stripRows.get(flight.callsign);
    if (!row) {
      row = document.createElement('tr');
      row.dataset['callsign'] = flight.callsign;
      for (let i = 0; i < 6; i++) row.append(document.createElement('td'));
      row.addEventListener('click', () => select(flight.callsign));
      stripRows.set(flight.callsign, row);
    }
    if (body.children[index] !== row) body.insertBefore(row, body.children[index] ?? null);
    const mine = flight.owner !== undefined && flight.owner === session?.self;
    const className = `strip${mine ? ' mine' : ''}${conflicted.has(flight.callsign) ? ' conflict' : ''}${flight.callsign === selected ? ' selected' : ''}`;
    if (row.className !== className) row.className = className;
    const owner = flight.owner === undefined ? '—' : mine ? 'you' : (session?.board.nameOf(flight.owner) ?? flight.owner);
    setCells(row, [
      flight.callsign,
      `${flight.sector}→${flight.nextSector}`,
      `${flightLevel(flight.altitudeFt)}/${flightLevel(flight.clearedAltitudeFt)}`,
      String(Math.round(flight.headingDeg)).padStart(3, '0'),
      String(flight.speedKt),
      owner,
    ]);
    row.lastElementChild!.className = flight.owner === undefined ? 'owner-none' : mine ? 'owner-mine' : '';
  });
}

function setCells(row: HTMLTableRowElement, values: string[]): void {
  values.forEach((value, index) => {
    const cell = row.children[index]!;
    if (cell.textContent !== value) cell.textContent = value;
  });
}

function drawSelected(snapshot: BoardSnapshot): void {
  const box = $('#selected');
  const flight = snapshot.flights.find((candidate) => candidate.callsign === selected);
  if (!flight || !session) {
    delete box.dataset['key'];
    box.className = 'selected empty';
    box.textContent = selected ? `${selected} has left the board.` : 'Click a flight on the scope or a strip.';
    return;
  }
  const active = session;
  const mine = flight.owner === active.self;
  const free = flight.owner === undefined;
  const titleText = `${flight.callsign}  FL${flightLevel(flight.altitudeFt)}  HDG ${String(Math.round(flight.headingDeg)).padStart(3, '0')}  ${flight.sector}→${flight.nextSector}`;
  // Rebuild the controls only when what they depend on changes: a click must not meet a button being replaced.
  const key = JSON.stringify([flight.callsign, flight.owner, flight.sector, flight.clearedAltitudeFt, flight.clearedHeadingDeg, active.self]);
  if (box.dataset['key'] === key) {
    box.querySelector('.title')!.textContent = titleText;
    return;
  }
  if (document.activeElement instanceof HTMLInputElement && box.contains(document.activeElement) && box.dataset['callsign'] === flight.callsign && mine) return; // typing
  box.dataset['key'] = key;
  box.dataset['callsign'] = flight.callsign;
  box.className = 'selected';
  box.replaceChildren();
  const title = element('div', 'title', titleText);
  const holder = element('div', 'note', free ? 'Unclaimed.' : mine ? 'Claimed by you: only you can change it.' : `Claimed by ${active.board.nameOf(flight.owner!)}: read only.`);
  const claimRow = element('div', 'row');
  claimRow.append(
    button('Claim', !free, () => active.claim(flight.callsign)),
    button('Release', !mine, () => active.release(flight.callsign)),
    button(`Hand off to ${flight.nextSector}`, !mine, () => active.handoff(flight.callsign, flight.nextSector), 'danger'),
  );
  const clearRow = element('div', 'row');
  const level = input('FL', Math.round(flight.clearedAltitudeFt / 100), !mine);
  const heading = input('HDG', Math.round(flight.clearedHeadingDeg), !mine);
  clearRow.append(
    element('span', 'note', 'Clear to FL'),
    level,
    button('Climb/descend', !mine, () => {
      const altitudeFt = Number(level.value) * 100;
      if (altitudeFt >= MIN_ALTITUDE_FT && altitudeFt <= MAX_ALTITUDE_FT) return active.clear(flight.callsign, { altitudeFt });
      return undefined;
    }),
    element('span', 'note', 'heading'),
    heading,
    button('Turn', !mine, () => {
      const headingDeg = ((Number(heading.value) % 360) + 360) % 360;
      return Number.isFinite(headingDeg) ? active.clear(flight.callsign, { headingDeg }) : undefined;
    }),
  );
  box.append(title, holder, claimRow, clearRow);
}

function element(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label: string, disabled: boolean, action: () => Promise<unknown> | undefined, className = ''): HTMLButtonElement {
  const node = document.createElement('button');
  node.textContent = label;
  node.disabled = disabled;
  node.className = className;
  node.addEventListener('click', () => void action()?.catch((error: unknown) => appendLog({ tick: -1, text: String(error), level: 'warn' })));
  return node;
}

function input(label: string, value: number, disabled: boolean): HTMLInputElement {
  const node = document.createElement('input');
  node.type = 'number';
  node.value = String(value);
  node.disabled = disabled;
  node.setAttribute('aria-label', label);
  node.name = label.toLowerCase();
  return node;
}

// ------------------------------------------------------------------ view, alerts, log

function drawMembers(): void {
  const list = $('#members');
  if (!session?.view) return;
  $('#viewid').textContent = `#${session.view.viewId}`;
  const active = session;
  list.replaceChildren(
    ...active.view!.members.map((member) => {
      const item = document.createElement('li');
      const profile = active.board.profiles.get(member);
      item.append(element('span', '', `${profile?.name ?? '(joining)'}${member === active.self ? ' (you)' : ''}`));
      if (profile) item.append(element('span', `badge ${profile.kind}`, profile.kind.toUpperCase()));
      if (profile) item.append(element('span', 'badge', profile.role.toUpperCase()));
      if (member === active.leader) item.append(element('span', 'badge leader', 'LEADER'));
      item.append(element('span', 'member-id', member.slice(-14)));
      item.dataset['member'] = member;
      return item;
    }),
  );
}

function drawAlerts(snapshot: BoardSnapshot): void {
  $('#alerts').replaceChildren(
    ...snapshot.conflicts.map((conflict) => element('div', '', `CONFLICT ${conflict.a} / ${conflict.b}  ${conflict.distanceNm} NM  ${conflict.verticalFt} FT`)),
  );
}

function appendLog(entry: LogEntry): void {
  const list = $('#log');
  const item = document.createElement('li');
  item.className = entry.level;
  item.append(element('span', 'tick', new Date().toTimeString().slice(0, 8)), document.createTextNode(entry.text));
  list.prepend(item);
  while (list.children.length > 150) list.lastElementChild!.remove();
}

setInterval(() => ($('#clock').textContent = `${new Date().toISOString().slice(11, 19)}Z`), 1000);

main().catch((error: unknown) => {
  const status = $('#status');
  status.className = 'status cutoff';
  status.textContent = `FAILED: ${String(error)}`;
  console.error(error);
});
