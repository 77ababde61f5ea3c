/**
 * One member's seat at the board: the Board state machine bound to the sector group. The same
 * code runs in a browser tab and in the Node peers.
 */
import type { Group, JoinOptions, Peer, ViewChange } from '@synod/peer';
import { Board, type BoardEvent, type BoardSnapshot, type Conflict, type Outcome, type Profile } from './model.js';

export const GROUP = 'sector-board';
const KIND = 'board';

/** Timings for an operations display: a closed tab or a killed peer leaves the view within a second. */
export const TIMING = { heartbeatMs: 100, suspectAfterMs: 700, discoveryMs: 300, flushTimeoutMs: 1000 } as const;

export interface LogEntry {
  readonly tick: number;
  readonly text: string;
  readonly level: 'info' | 'warn' | 'alert';
}

export interface SessionEvents {
  /** Anything on the board changed (positions, claims, the view). */
  change(): void;
  log(entry: LogEntry): void;
}

export interface SessionOptions {
  readonly profile: Profile;
  readonly sectors: readonly string[];
  /** The board as this member last saw it (from storage): shown until the group's state arrives. */
  readonly restored?: BoardSnapshot;
  /** Called with the board after every change that should survive a reload. */
  readonly persist?: (snapshot: BoardSnapshot) => void;
  readonly join?: Omit<JoinOptions, 'setup' | 'state'>;
}

export class BoardSession {
  readonly board: Board;
  group!: Group;
  view: ViewChange | undefined;
  readonly log: LogEntry[] = [];
  private readonly listeners: { [E in keyof SessionEvents]: Set<SessionEvents[E]> } = { change: new Set(), log: new Set() };

  private constructor(readonly options: SessionOptions) {
    this.board = new Board(options.sectors);
    if (options.restored) this.board.load(options.restored);
  }

  static async join(peer: Peer, options: SessionOptions): Promise<BoardSession> {
    const session = new BoardSession(options);
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    session.group = await peer.join(GROUP, {
      ...TIMING,
      ...options.join,
      setup: (group) => {
        session.group = group;
        group.statePart('board', {
          save: () => encoder.encode(JSON.stringify(session.board.snapshot())),
          load: (bytes) => {
            session.board.load(JSON.parse(decoder.decode(bytes)) as BoardSnapshot);
            session.changed(true);
          },
        });
        group.handle<BoardEvent>(KIND, (message) => session.delivered(message.data, message.sender));
        group.on('view', (view) => session.viewInstalled(view));
        group.on('minority', () => session.note('This member is cut off from the majority: the board is frozen until it reconnects', 'alert'));
        group.on('majority', () => session.note('Reconnected to the majority', 'info'));
        group.on('rejoined', () => session.note('Rejoined the group under a new id; the board came by state transfer', 'warn'));
      },
    });
    await session.send({ t: 'hello', profile: options.profile });
    return session;
  }

  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  get self(): string {
    return this.group.memberId;
  }

  /** The member that leads the view: the oldest. */
  get leader(): string | undefined {
    return this.view?.members[0];
  }

  /** Total order: every member applies it at the same point. */
  send(event: BoardEvent): Promise<unknown> {
    return this.group.abcast(KIND, event as never);
  }

  /** FIFO only: the radar feed's positions. */
  publish(event: BoardEvent): Promise<unknown> {
    return this.group.fbcast(KIND, event as never);
  }

  claim(callsign: string): Promise<unknown> {
    return this.send({ t: 'claim', callsign });
  }

  release(callsign: string): Promise<unknown> {
    return this.send({ t: 'release', callsign });
  }

  clear(callsign: string, clearance: { altitudeFt?: number; headingDeg?: number }): Promise<unknown> {
    return this.send({ t: 'clear', callsign, ...clearance });
  }

  handoff(callsign: string, to: string): Promise<unknown> {
    return this.send({ t: 'handoff', callsign, to });
  }

  conflicts(): Conflict[] {
    return this.board.conflicts;
  }

  private delivered(event: BoardEvent, sender: string): void {
    const before = event.t === 'tick' ? this.board.conflicts : undefined;
    const outcome: Outcome = this.board.apply(event, sender);
    if (!outcome.ok) {
      if (sender === this.self && event.t !== 'tick') this.note(`Refused ${event.t} ${'callsign' in event ? event.callsign : ''}: ${outcome.reason}`, 'warn');
      return;
    }
    const who = this.board.nameOf(sender);
    switch (event.t) {
      case 'hello':
        this.note(`${who} (${event.profile.kind} ${event.profile.role}) is at the board`, 'info');
        break;
      case 'claim':
        this.note(`${who} claimed ${event.callsign}`, 'info');
        break;
      case 'release':
        this.note(`${who} released ${event.callsign}`, 'info');
        break;
      case 'clear':
        this.note(
          `${who} cleared ${event.callsign}${event.altitudeFt !== undefined ? ` to FL${Math.round(event.altitudeFt / 100)}` : ''}${
            event.headingDeg !== undefined ? ` heading ${String(event.headingDeg).padStart(3, '0')}` : ''
          }`,
          'info',
        );
        break;
      case 'handoff':
        this.note(`${who} handed ${event.callsign} off to sector ${event.to}`, 'info');
        break;
      case 'tick':
        for (const conflict of this.board.conflicts) {
          const known = before?.some((old) => old.a === conflict.a && old.b === conflict.b);
          if (!known) this.note(`CONFLICT ${conflict.a} / ${conflict.b}: ${conflict.distanceNm} NM, ${conflict.verticalFt} ft`, 'alert');
        }
        break;
    }
    this.changed(event.t !== 'tick' || this.board.tick % 5 === 0);
  }

  private viewInstalled(view: ViewChange): void {
    const hadView = this.view !== undefined;
    this.view = view;
    const left = view.left.map((member) => this.board.nameOf(member));
    const released = this.board.viewChanged(view.members);
    if (hadView) {
      this.note(
        `View ${view.viewId}: ${view.members.length} members${view.joined.length ? `, ${view.joined.length} joined` : ''}${
          left.length ? `, left: ${left.join(', ')}` : ''
        }${released.length ? `; claims released: ${released.join(', ')}` : ''}`,
        left.length ? 'warn' : 'info',
      );
    }
    this.changed(true);
  }

  private note(text: string, level: LogEntry['level']): void {
    const entry = { tick: this.board.tick, text, level };
    this.log.push(entry);
    if (this.log.length > 200) this.log.shift();
    for (const listener of this.listeners.log) listener(entry);
  }

  private changed(persist: boolean): void {
    if (persist) this.options.persist?.(this.board.snapshot());
    for (const listener of this.listeners.change) listener();
  }
}

