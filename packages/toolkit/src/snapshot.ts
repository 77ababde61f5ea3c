/**
 * Distributed snapshot: a consistent cut of every member's state and of the messages in flight,
 * Chandy–Lamport over the group's channels. A channel here is one member's FIFO multicast stream
 * (fbcast) as another member (or itself) delivers it: the app's messages of the kinds it gives to
 * snapshot.handle(), and the snapshot's markers, travel on the same per-sender FIFO stream.
 *
 * - The initiator records its state and fbcasts a marker, in one synchronous step (no app send
 *   falls between the two).
 * - A member that delivers the first marker of a snapshot records its state at that point of its
 *   delivery sequence and fbcasts its own marker; from then on it records, per sender, the
 *   channel kinds' messages it delivers until that sender's marker arrives (those were in flight).
 * - A member that has every view member's marker sends its report (state and channels); the
 *   initiator resolves take() with every member's report.
 *
 * The cut is consistent provided that the app changes its state for a send in the same
 * synchronous step as the fbcast, and for a delivery in the channel handler.
 *
 * Interrupted by a view change (a crash, a leave, a join, a partition): the members of the old
 * view drop the snapshot, and the initiator starts it again in the new view, up to `attempts`
 * times in all (default 3); it then rejects with SynodError VIEW_CHANGED. So a take() either
 * completes among the members of one view (the survivors) or fails with a typed error; a member
 * excluded meanwhile rejects with EXCLUDED, one that leaves the group (or whose peer closes) with
 * NOT_JOINED, and `timeoutMs` bounds a take() in a minority.
 */
import { SynodError, type MemberId } from '@synod/core';
import type { Data, Group, Handler, Message } from '@synod/peer';
import { leftError } from './lease.js';
import { isCount, isRecord, pack, unpack, validateInstanceName } from './packing.js';

export interface SnapshotOptions {
  /** The tool instance: its message kinds are `synod.snapshot/<name>/…`. Default 'default'. */
  readonly name?: string;
  /** This member's state as recorded in a cut. */
  save(): Uint8Array;
}

export interface SnapshotMessage {
  readonly sender: MemberId;
  readonly kind: string;
  /** The group-wide message id. */
  readonly id: string;
  readonly data: Data;
}

/** Messages sent on `from`'s stream before its state was recorded, delivered at `to` after `to`'s. */
export interface SnapshotChannel {
  readonly from: MemberId;
  readonly to: MemberId;
  readonly messages: readonly SnapshotMessage[];
}

export interface SnapshotCut {
  readonly id: string;
  readonly viewId: number;
  readonly members: readonly MemberId[];
  readonly states: ReadonlyMap<MemberId, Uint8Array>;
  /** Every non-empty channel (members × members, self-channels included). */
  readonly channels: readonly SnapshotChannel[];
}

export interface SnapshotTakeOptions {
  /** Reject with SynodError TIMEOUT after this long. */
  readonly timeoutMs?: number;
  /** Starts in all, counting restarts after view changes. Default 3. */
  readonly attempts?: number;
}

export interface SnapshotStats {
  /** Snapshots this member dropped because the view changed before they completed. */
  aborted: number;
  /** Tool messages that did not parse or did not fit a snapshot in progress. */
  droppedMalformed: number;
}

export interface DistributedSnapshot {
  /** Like group.handle: a handler for a kind whose messages belong to the snapshot's channels. */
  handle<T = unknown>(kind: string, handler: Handler<T>): () => void;
  /** Takes a snapshot; resolves with the cut once every member of the view has reported. */
  take(options?: SnapshotTakeOptions): Promise<SnapshotCut>;
  readonly stats: SnapshotStats;
  close(): void;
}

interface Recording {
  readonly viewId: number;
  readonly state: Uint8Array;
  /** Senders whose marker has not arrived: their channel is still being recorded. */
  readonly open: Set<MemberId>;
  readonly channels: Map<MemberId, SnapshotMessage[]>;
}

interface Taking {
  readonly resolve: (cut: SnapshotCut) => void;
  readonly reject: (error: unknown) => void;
  attemptsLeft: number;
  timer: unknown;
  /** The current attempt. */
  id: string;
  viewId: number;
  members: readonly MemberId[];
  readonly reports: Map<MemberId, { state: Uint8Array; channels: Map<MemberId, SnapshotMessage[]> }>;
}

export function distributedSnapshot(group: Group, options: SnapshotOptions): DistributedSnapshot {
  return new SnapshotTool(group, options);
}

class SnapshotTool implements DistributedSnapshot {
  readonly stats: SnapshotStats = { aborted: 0, droppedMalformed: 0 };
  private readonly markerKind: string;
  private readonly reportKind: string;
  private readonly recordings = new Map<string, Recording>();
  private readonly taking = new Map<string, Taking>();
  private readonly undo: (() => void)[] = [];
  private nextSnapshotNo = 1;
  private closed = false;
  /** Set once the group is left for good: every take ended with it, and later ones reject with it. */
  private ended: SynodError | undefined;

  constructor(
    private readonly group: Group,
    private readonly options: SnapshotOptions,
  ) {
    if (!options || typeof options.save !== 'function') throw new SynodError('INVALID_ARGUMENT', 'distributedSnapshot: options need save()');
    const name = validateInstanceName('distributedSnapshot', options.name ?? 'default');
    this.markerKind = `synod.snapshot/${name}/marker`;
    this.reportKind = `synod.snapshot/${name}/report`;
    this.undo.push(
      group.handle(this.markerKind, (message) => this.onMarker(message)),
      group.handle(this.reportKind, (message) => this.onReport(message)),
      group.on('view', (view) => this.onView(view.viewId)),
      group.on('excluded', ({ memberId }) => {
        this.recordings.clear();
        this.failAll(new SynodError('EXCLUDED', `distributedSnapshot: ${memberId} was excluded from ${group.name}`));
      }),
      group.on('left', ({ reason }) => {
        this.ended = leftError('distributedSnapshot', group, reason);
        this.recordings.clear();
        this.failAll(this.ended);
      }),
    );
  }

  handle<T = unknown>(kind: string, handler: Handler<T>): () => void {
    if (typeof handler !== 'function') throw new SynodError('INVALID_ARGUMENT', 'a handler must be a function');
    const remove = this.group.handle<T>(kind, (message) => {
      for (const recording of this.recordings.values()) {
        if (recording.viewId !== message.viewId || !recording.open.has(message.sender)) continue;
        let messages = recording.channels.get(message.sender);
        if (!messages) recording.channels.set(message.sender, (messages = []));
        messages.push({ sender: message.sender, kind: message.kind, id: message.id, data: message.data as Data });
      }
      return handler(message);
    });
    this.undo.push(remove);
    return remove;
  }

  take(options: SnapshotTakeOptions = {}): Promise<SnapshotCut> {
    if (this.closed) return Promise.reject(new SynodError('CLOSED', 'distributedSnapshot: closed'));
    if (this.ended) return Promise.reject(this.ended);
    const view = this.group.view;
    if (!view) return Promise.reject(new SynodError('NOT_JOINED', 'distributedSnapshot: no view yet'));
    const attempts = options.attempts ?? 3;
    if (!(Number.isInteger(attempts) && attempts >= 1)) {
      return Promise.reject(new SynodError('INVALID_ARGUMENT', `attempts must be a positive integer, got ${String(attempts)}`));
    }
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      return Promise.reject(new SynodError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${String(timeoutMs)}`));
    }
    return new Promise<SnapshotCut>((resolve, reject) => {
      const taking: Taking = { resolve, reject, attemptsLeft: attempts, timer: undefined, id: '', viewId: 0, members: [], reports: new Map() };
      if (timeoutMs !== undefined) {
        taking.timer = this.group.clock.setTimer(() => {
          if (this.taking.get(taking.id) !== taking) return;
          this.finish(taking, new SynodError('TIMEOUT', `distributedSnapshot: no cut within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.start(taking, view.viewId, view.members);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const undo of this.undo) undo();
    this.recordings.clear();
    this.failAll(new SynodError('CLOSED', 'distributedSnapshot: closed'));
  }

  /** One attempt: record the state and send the marker, with no app send in between. */
  private start(taking: Taking, viewId: number, members: readonly MemberId[]): void {
    taking.attemptsLeft--;
    taking.id = `${this.group.memberId}#${this.nextSnapshotNo++}`;
    taking.viewId = viewId;
    taking.members = members;
    taking.reports.clear();
    this.taking.set(taking.id, taking);
    this.record(taking.id, viewId, members);
  }

  private record(id: string, viewId: number, members: readonly MemberId[]): Recording {
    const recording: Recording = { viewId, state: this.options.save(), open: new Set(members), channels: new Map() };
    this.recordings.set(id, recording);
    this.group.fbcast(this.markerKind, { id, v: viewId }).catch(() => undefined); // a view change aborts it anyway
    return recording;
  }

  private onView(viewId: number): void {
    for (const [id, recording] of this.recordings) {
      if (recording.viewId === viewId) continue;
      this.recordings.delete(id);
      this.stats.aborted++;
    }
    for (const [id, taking] of this.taking) {
      if (taking.viewId === viewId) continue;
      this.taking.delete(id);
      if (taking.attemptsLeft > 0 && this.group.view) this.start(taking, viewId, this.group.view.members);
      else this.finish(taking, new SynodError('VIEW_CHANGED', `distributedSnapshot: the view changed ${taking.attemptsLeft === 0 ? 'on every attempt' : ''}`.trim()));
    }
  }

  private onMarker(message: Message): void {
    const body = message.data;
    const view = this.group.view;
    if (!isRecord(body) || typeof body['id'] !== 'string' || !isCount(body['v'])) {
      this.stats.droppedMalformed++;
      return;
    }
    // Markers of another view belong to a snapshot the view change aborted.
    if (!view || body['v'] !== message.viewId || view.viewId !== message.viewId) return;
    const id = body['id'];
    const recording = this.recordings.get(id) ?? this.record(id, view.viewId, view.members);
    if (!recording.open.delete(message.sender)) {
      this.stats.droppedMalformed++;
      return;
    }
    if (recording.open.size > 0) return;
    this.recordings.delete(id);
    this.report(id, recording);
  }

  private report(id: string, recording: Recording): void {
    const blobs: Uint8Array[] = [recording.state];
    const channels = [...recording.channels].map(([sender, messages]) => ({
      s: sender,
      m: messages.map((m) => {
        if (m.data instanceof Uint8Array) {
          blobs.push(m.data);
          return { k: m.kind, i: m.id, b: blobs.length - 1 };
        }
        return m.data === undefined ? { k: m.kind, i: m.id } : { k: m.kind, i: m.id, d: m.data };
      }),
    }));
    this.group.fbcast(this.reportKind, pack({ id, v: recording.viewId, c: channels }, blobs)).catch(() => undefined);
  }

  private onReport(message: Message): void {
    const packed = unpack(message.data);
    const header = packed?.header;
    if (!packed || !isRecord(header) || typeof header['id'] !== 'string') {
      this.stats.droppedMalformed++;
      return;
    }
    const taking = this.taking.get(header['id']);
    if (!taking) return; // another member's snapshot, or one given up
    const parsed = parseReport(header, packed.blobs);
    if (!parsed || header['v'] !== taking.viewId || !taking.members.includes(message.sender)) {
      this.stats.droppedMalformed++;
      return;
    }
    taking.reports.set(message.sender, parsed);
    if (taking.reports.size < taking.members.length) return;
    const states = new Map<MemberId, Uint8Array>();
    const channels: SnapshotChannel[] = [];
    for (const to of taking.members) {
      const report = taking.reports.get(to)!;
      states.set(to, report.state);
      for (const from of taking.members) {
        const messages = report.channels.get(from);
        if (messages && messages.length > 0) channels.push({ from, to, messages });
      }
    }
    this.finish(taking, undefined, { id: taking.id, viewId: taking.viewId, members: taking.members, states, channels });
  }

  private finish(taking: Taking, error: unknown, cut?: SnapshotCut): void {
    this.taking.delete(taking.id);
    if (taking.timer !== undefined) this.group.clock.clearTimer(taking.timer);
    if (cut) taking.resolve(cut);
    else taking.reject(error);
  }

  private failAll(error: SynodError): void {
    for (const taking of [...this.taking.values()]) this.finish(taking, error);
  }
}

function parseReport(
  header: Record<string, unknown>,
  blobs: readonly Uint8Array[],
): { state: Uint8Array; channels: Map<MemberId, SnapshotMessage[]> } | undefined {
  const state = blobs[0];
  const rawChannels = header['c'];
  if (!state || !Array.isArray(rawChannels)) return undefined;
  const channels = new Map<MemberId, SnapshotMessage[]>();
  for (const raw of rawChannels) {
    if (!isRecord(raw) || typeof raw['s'] !== 'string' || !Array.isArray(raw['m']) || channels.has(raw['s'])) return undefined;
    const from = raw['s'];
    const messages: SnapshotMessage[] = [];
    for (const m of raw['m']) {
      if (!isRecord(m) || typeof m['k'] !== 'string' || typeof m['i'] !== 'string') return undefined;
      let data: Data = m['d'] as Data;
      if (m['b'] !== undefined) {
        const blob = isCount(m['b']) && m['b'] > 0 ? blobs[m['b']] : undefined;
        if (!blob) return undefined;
        data = blob;
      }
      messages.push({ sender: from, kind: m['k'], id: m['i'], data });
    }
    channels.set(from, messages);
  }
  return { state, channels };
}
