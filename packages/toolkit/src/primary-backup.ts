/**
 * Primary-backup (passive replication), built on the public Group API as Isis built it on process
 * groups. The primary is the oldest member of the current view (members[0]: every member agrees,
 * since views are delivered in the same sequence as messages). It alone runs requests; it
 * multicasts, with `safe` (total order + dynamic uniformity), an update holding the service's new
 * state and the responses (one update in flight at a time; requests run meanwhile share the next
 * one). A client acknowledges a request when it delivers the
 * update carrying its response: by then every member of the view holds that update, and if any
 * member delivered it every survivor does, so a backup that takes over after the primary's crash
 * (or after a partition) holds the effect of every acknowledged request.
 *
 * Exactly once: requests carry ids (client id, request number); the responses travel in the
 * updates into a replicated response table, part of the state transfer, so a request a client
 * retries after a failover is never run a second time. A client retries every unacknowledged
 * request when the primary changes (or when it rejoins under a new member id); clients send with
 * each request the lowest number they still wait for, so the table forgets what is acknowledged.
 *
 * A primary's service state runs ahead of what the group agreed (requests run but whose update is
 * not yet delivered); joiners therefore get the last agreed state, never the primary's live one.
 *
 *   let counter!: PrimaryBackup<number, number>;
 *   await peer.join('bank', { setup: (g) => (counter = primaryBackup(g, service)) });
 *   const total = await counter.request(5);
 */
import { SynodError, type MemberId } from '@synod/core';
import type { Data, Group, Message } from '@synod/peer';
import { leftError } from './lease.js';
import { isCount, isRecord, pack, unpack, validateInstanceName } from './packing.js';

/** Requests and responses travel as JSON values (strings, numbers, objects…), not Uint8Arrays. */
export type PrimaryBackupData = Exclude<Data, Uint8Array>;

export interface PrimaryBackupService<Request extends PrimaryBackupData = PrimaryBackupData, Response extends PrimaryBackupData = PrimaryBackupData> {
  /**
   * Runs one request at the primary, one at a time, in arrival order; may be nondeterministic. A
   * throw answers the client with an error (what apply changed before it threw is kept).
   */
  apply(request: Request): Response | Promise<Response>;
  /** The whole service state, taken after each request at the primary. */
  save(): Uint8Array;
  /** Replace the service state (at backups after each update, at joiners on state transfer). */
  load(bytes: Uint8Array): void;
}

export interface PrimaryBackupOptions {
  /** The tool instance: its message kinds are `synod.pb/<name>/…`. Default 'default'. */
  readonly name?: string;
  /**
   * This client's id in the response table; it must never be reused by another client. Default:
   * the member id at creation (unique unless a process restarts at the same address).
   */
  readonly clientId?: string;
}

export interface PrimaryBackupRequestOptions {
  /** Reject with SynodError TIMEOUT after this long (the request may still run later). */
  readonly timeoutMs?: number;
}

export interface PrimaryBackupStats {
  /** Requests this member ran as primary. */
  executed: number;
  /** Requests that arrived again (a client's retry) and were not run again. */
  duplicates: number;
  /** Updates from a member that is not the primary, or older than the state already held. */
  staleUpdates: number;
  /** Tool messages that did not parse. */
  droppedMalformed: number;
}

export interface PrimaryBackup<Request extends PrimaryBackupData = PrimaryBackupData, Response extends PrimaryBackupData = PrimaryBackupData> {
  /**
   * Runs `request` at the primary; resolves once every member of the view holds its effect. Once
   * the group is left (leave(), the peer closed), pending and later requests reject with SynodError
   * NOT_JOINED (a pending one may still have run).
   */
  request(request: Request, options?: PrimaryBackupRequestOptions): Promise<Response>;
  /** The current primary, as agreed by the view. */
  readonly primary: MemberId | undefined;
  readonly isPrimary: boolean;
  /** Updates agreed so far (requests run, counted group-wide). */
  readonly appliedSeq: number;
  readonly clientId: string;
  readonly stats: PrimaryBackupStats;
  /** Stop: pending requests reject with SynodError CLOSED, handlers and listeners go. */
  close(): void;
}

interface ClientRecord {
  /** Every request number below this one is acknowledged by the client: forgotten, never run again. */
  floor: number;
  readonly responses: Map<number, Outcome>;
}

/** A response, or the message of the error apply threw. */
interface Outcome {
  readonly response?: PrimaryBackupData;
  readonly error?: string;
}

/** A request the primary ran whose update is not yet delivered back. */
interface Entry extends Outcome {
  readonly seq: number;
  readonly client: string;
  readonly requestNo: number;
  readonly floor: number;
}

interface Pending {
  readonly request: PrimaryBackupData;
  readonly resolve: (response: any) => void;
  readonly reject: (error: unknown) => void;
  /** `primary|self` when last sent: resent when either changes. */
  sentTo: string | undefined;
  timer: unknown;
}

export function primaryBackup<Request extends PrimaryBackupData = PrimaryBackupData, Response extends PrimaryBackupData = PrimaryBackupData>(
  group: Group,
  service: PrimaryBackupService<Request, Response>,
  options: PrimaryBackupOptions = {},
): PrimaryBackup<Request, Response> {
  return new PrimaryBackupTool<Request, Response>(group, service, options);
}

class PrimaryBackupTool<Request extends PrimaryBackupData, Response extends PrimaryBackupData> implements PrimaryBackup<Request, Response> {
  readonly stats: PrimaryBackupStats = { executed: 0, duplicates: 0, staleUpdates: 0, droppedMalformed: 0 };
  readonly clientId: string;
  private readonly requestKind: string;
  private readonly updateKind: string;
  private readonly undo: (() => void)[] = [];
  // Replicated: changed only by delivered updates and state transfer.
  private applied = 0;
  private agreedState: Uint8Array;
  private readonly clients = new Map<string, ClientRecord>();
  // The primary's own: requests run, their update not yet delivered.
  private unconfirmed: Entry[] = [];
  private updateInFlight = false;
  private nextSeq = 0;
  // The client's own.
  private nextRequestNo = 1;
  private readonly pending = new Map<number, Pending>();
  private currentPrimary: MemberId | undefined;
  private closed = false;
  /** Set once the group is left for good: every pending request ended with it, and later ones reject with it. */
  private ended: SynodError | undefined;

  constructor(
    private readonly group: Group,
    private readonly service: PrimaryBackupService<Request, Response>,
    options: PrimaryBackupOptions,
  ) {
    if (!service || typeof service.apply !== 'function' || typeof service.save !== 'function' || typeof service.load !== 'function') {
      throw new SynodError('INVALID_ARGUMENT', 'primaryBackup: the service needs apply(request), save() and load(bytes)');
    }
    const name = validateInstanceName('primaryBackup', options.name ?? 'default');
    this.clientId = options.clientId ?? group.memberId;
    if (typeof this.clientId !== 'string' || this.clientId.length === 0) {
      throw new SynodError('INVALID_ARGUMENT', 'primaryBackup: clientId must be a non-empty string');
    }
    this.requestKind = `synod.pb/${name}/request`;
    this.updateKind = `synod.pb/${name}/update`;
    this.agreedState = service.save();
    this.undo.push(
      group.handle(this.requestKind, (message) => this.onRequest(message)),
      group.handle(this.updateKind, (message) => this.onUpdate(message)),
      group.statePart(`synod.pb/${name}`, { save: () => this.saveState(), load: (bytes) => this.loadState(bytes) }),
      group.on('view', (view) => this.onView(view.members[0])),
      group.on('excluded', () => {
        this.unconfirmed = [];
        this.updateInFlight = false;
        this.currentPrimary = undefined;
      }),
      group.on('left', ({ reason }) => this.onLeft(reason)),
    );
    if (group.view) this.onView(group.view.members[0]);
  }

  get primary(): MemberId | undefined {
    return this.currentPrimary;
  }

  get isPrimary(): boolean {
    return this.currentPrimary !== undefined && this.currentPrimary === this.group.memberId;
  }

  get appliedSeq(): number {
    return this.applied;
  }

  request(request: Request, options: PrimaryBackupRequestOptions = {}): Promise<Response> {
    if (this.closed) return Promise.reject(new SynodError('CLOSED', 'primaryBackup: closed'));
    if (this.ended) return Promise.reject(this.ended);
    if (request instanceof Uint8Array || ArrayBuffer.isView(request)) {
      return Promise.reject(new SynodError('INVALID_ARGUMENT', 'primaryBackup: requests are JSON values, not binary'));
    }
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      return Promise.reject(new SynodError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${String(timeoutMs)}`));
    }
    try {
      JSON.stringify(request);
    } catch (cause) {
      return Promise.reject(new SynodError('INVALID_ARGUMENT', 'primaryBackup: the request is not JSON-serialisable', { cause }));
    }
    const requestNo = this.nextRequestNo++;
    return new Promise<Response>((resolve, reject) => {
      const pending: Pending = { request, resolve, reject, sentTo: undefined, timer: undefined };
      this.pending.set(requestNo, pending);
      if (timeoutMs !== undefined) {
        pending.timer = this.group.clock.setTimer(() => {
          if (this.pending.get(requestNo) !== pending) return;
          this.pending.delete(requestNo);
          reject(new SynodError('TIMEOUT', `primaryBackup: no response to request ${requestNo} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.send(requestNo, pending);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const undo of this.undo) undo();
    for (const [requestNo, pending] of this.pending) this.settle(requestNo, pending, { error: 'closed' }, new SynodError('CLOSED', 'primaryBackup: closed'));
  }

  private onLeft(reason: SynodError): void {
    this.ended = leftError('primaryBackup', this.group, reason);
    this.unconfirmed = [];
    this.updateInFlight = false;
    this.currentPrimary = undefined;
    for (const [requestNo, pending] of this.pending) this.settle(requestNo, pending, { error: 'left' }, this.ended);
  }

  // ---------------------------------------------------------------- client

  private send(requestNo: number, pending: Pending): void {
    if (this.currentPrimary === undefined) return; // sent at the first view
    pending.sentTo = `${this.currentPrimary}|${this.group.memberId}`;
    const floor = this.pending.keys().next().value ?? requestNo; // numbers rise: the first pending is the lowest
    // A failed send (excluded, left) is retried at the next view, if any.
    this.group.fbcast(this.requestKind, { c: this.clientId, n: requestNo, f: floor, d: pending.request }).catch(() => undefined);
  }

  private onView(primary: MemberId | undefined): void {
    if (primary !== this.currentPrimary && primary === this.group.memberId) {
      // Taking over: the state is the agreed one (every update of the old view was delivered).
      this.unconfirmed = [];
      this.updateInFlight = false;
      this.nextSeq = this.applied;
    }
    this.currentPrimary = primary;
    const key = `${primary}|${this.group.memberId}`;
    for (const [requestNo, pending] of this.pending) if (pending.sentTo !== key) this.send(requestNo, pending);
  }

  private settle(requestNo: number, pending: Pending, outcome: Outcome, error?: unknown): void {
    this.pending.delete(requestNo);
    if (pending.timer !== undefined) this.group.clock.clearTimer(pending.timer);
    if (error !== undefined) pending.reject(error);
    else if (outcome.error !== undefined) pending.reject(new Error(`primaryBackup: the service failed: ${outcome.error}`));
    else pending.resolve(outcome.response);
  }

  /** After an update or a state transfer: resolve what the table now answers. */
  private answerPending(): void {
    const record = this.clients.get(this.clientId);
    if (!record) return;
    for (const [requestNo, pending] of this.pending) {
      const outcome = record.responses.get(requestNo);
      if (outcome) this.settle(requestNo, pending, outcome);
    }
  }

  // ---------------------------------------------------------------- primary

  private async onRequest(message: Message): Promise<void> {
    if (!this.isPrimary) return; // backups ignore requests: clients resend them to a new primary
    const body = message.data;
    if (!isRecord(body) || typeof body['c'] !== 'string' || !isCount(body['n']) || !isCount(body['f']) || body['f'] > body['n']) {
      this.stats.droppedMalformed++;
      return;
    }
    const client = body['c'];
    const requestNo = body['n'];
    const record = this.clients.get(client);
    const known =
      (record !== undefined && (requestNo < record.floor || record.responses.has(requestNo))) ||
      this.unconfirmed.some((entry) => entry.client === client && entry.requestNo === requestNo);
    if (known) {
      this.stats.duplicates++;
      return;
    }
    let outcome: Outcome;
    try {
      outcome = { response: await this.service.apply(body['d'] as Request) };
    } catch (error) {
      outcome = { error: error instanceof Error ? error.message : String(error) };
    }
    if (!this.isPrimary || this.closed) return; // excluded meanwhile (the state transfer resets this state), or left
    this.stats.executed++;
    const entry: Entry = { seq: ++this.nextSeq, client, requestNo, floor: body['f'], ...outcome };
    this.unconfirmed.push(entry);
    if (!this.updateInFlight) this.sendUpdate();
  }

  /**
   * One update in flight at a time: requests run meanwhile go together in the next one, when the
   * previous is delivered back. Cumulative: every request run since the last delivered update, so
   * that any delivered update carries the response of every request whose effect its state holds.
   */
  private sendUpdate(): void {
    const last = this.unconfirmed.at(-1);
    if (!last) return;
    this.updateInFlight = true;
    const header = {
      s: last.seq,
      e: this.unconfirmed.map((e) => ({ c: e.client, n: e.requestNo, f: e.floor, r: e.response, x: e.error })),
    };
    this.group.safe(this.updateKind, pack(header, [this.service.save()])).catch(() => (this.updateInFlight = false));
  }

  // ---------------------------------------------------------------- every member

  private onUpdate(message: Message): void {
    if (message.sender !== this.currentPrimary) {
      this.stats.staleUpdates++;
      return;
    }
    const update = parseUpdate(message.data);
    if (!update) {
      this.stats.droppedMalformed++;
      return;
    }
    if (update.seq <= this.applied) {
      this.stats.staleUpdates++;
      return;
    }
    for (const entry of update.entries) {
      const record = this.record(entry.client);
      if (entry.requestNo >= record.floor) record.responses.set(entry.requestNo, entry);
      this.raiseFloor(record, entry.floor);
    }
    this.applied = update.seq;
    this.agreedState = update.state;
    if (message.sender === this.group.memberId) {
      this.unconfirmed = this.unconfirmed.filter((entry) => entry.seq > update.seq);
      this.updateInFlight = false;
      this.sendUpdate();
    } else {
      this.service.load(update.state);
    }
    this.answerPending();
  }

  private record(client: string): ClientRecord {
    let record = this.clients.get(client);
    if (!record) this.clients.set(client, (record = { floor: 0, responses: new Map() }));
    return record;
  }

  private raiseFloor(record: ClientRecord, floor: number): void {
    if (floor <= record.floor) return;
    record.floor = floor;
    for (const requestNo of record.responses.keys()) if (requestNo < floor) record.responses.delete(requestNo);
  }

  private saveState(): Uint8Array {
    const clients = [...this.clients].map(([client, record]) => ({
      c: client,
      f: record.floor,
      e: [...record.responses].map(([requestNo, outcome]) => ({ n: requestNo, r: outcome.response, x: outcome.error })),
    }));
    return pack({ s: this.applied, clients }, [this.agreedState]);
  }

  private loadState(bytes: Uint8Array): void {
    const state = parseState(bytes);
    // The provider is a member running this code; a bad state is a bug, not hostile input.
    if (!state) throw new SynodError('INVALID_ARGUMENT', 'primaryBackup: malformed state transfer');
    this.applied = state.applied;
    this.agreedState = state.agreedState;
    this.clients.clear();
    for (const [client, record] of state.clients) this.clients.set(client, record);
    this.unconfirmed = [];
    this.updateInFlight = false;
    this.service.load(state.agreedState);
    this.answerPending();
  }
}

interface Update {
  readonly seq: number;
  readonly entries: Entry[];
  readonly state: Uint8Array;
}

function parseOutcome(value: Record<string, unknown>): Outcome | undefined {
  const error = value['x'];
  if (error !== undefined && typeof error !== 'string') return undefined;
  return error === undefined ? { response: value['r'] as PrimaryBackupData } : { error };
}

function parseUpdate(data: unknown): Update | undefined {
  const packed = unpack(data);
  if (!packed || packed.blobs.length !== 1 || !isRecord(packed.header)) return undefined;
  const { s: seq, e: rawEntries } = packed.header;
  if (!isCount(seq) || !Array.isArray(rawEntries)) return undefined;
  const entries: Entry[] = [];
  for (const raw of rawEntries) {
    if (!isRecord(raw) || typeof raw['c'] !== 'string' || !isCount(raw['n']) || !isCount(raw['f'])) return undefined;
    const outcome = parseOutcome(raw);
    if (!outcome) return undefined;
    entries.push({ seq, client: raw['c'], requestNo: raw['n'], floor: raw['f'], ...outcome });
  }
  return { seq, entries, state: packed.blobs[0]! };
}

function parseState(bytes: Uint8Array): { applied: number; agreedState: Uint8Array; clients: Map<string, ClientRecord> } | undefined {
  const packed = unpack(bytes);
  if (!packed || packed.blobs.length !== 1 || !isRecord(packed.header)) return undefined;
  const { s: applied, clients: rawClients } = packed.header;
  if (!isCount(applied) || !Array.isArray(rawClients)) return undefined;
  const clients = new Map<string, ClientRecord>();
  for (const raw of rawClients) {
    if (!isRecord(raw) || typeof raw['c'] !== 'string' || !isCount(raw['f']) || !Array.isArray(raw['e'])) return undefined;
    const responses = new Map<number, Outcome>();
    for (const rawEntry of raw['e']) {
      if (!isRecord(rawEntry) || !isCount(rawEntry['n'])) return undefined;
      const outcome = parseOutcome(rawEntry);
      if (!outcome) return undefined;
      responses.set(rawEntry['n'], outcome);
    }
    clients.set(raw['c'], { floor: raw['f'], responses });
  }
  return { applied, agreedState: packed.blobs[0]!, clients };
}
