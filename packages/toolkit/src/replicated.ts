/**
 * Replicated data: a map, a counter and an append-only log, each a replica at every member of a
 * group, kept identical by applying the same updates in the same total order.
 *
 * The Isis toolkit's replicated-data calls map onto this:
 * - Create replica: `replicated(group, name, type)` inside JoinOptions.setup, so the replica's
 *   handler and its state part exist before the first upcall; a joiner receives the replica by
 *   state transfer at the cut where it joins (and a restarted peer reloads its stored copy).
 * - Lock replica: not needed for single updates: every update is abcast, so the total order
 *   serializes concurrent writers the way the Isis lock did. Read-modify-write sequences that must
 *   not interleave take a lock of the locks tool around them.
 * - Update replica: `set` / `delete` / `clear`, `add`, `append`: queued, batched per turn into one
 *   abcast (or one safe multicast with `{ safe: true }`), applied at every member on delivery; the
 *   promise resolves once this member has applied it (with `safe`: once every member holds it).
 *   Once the group is left (leave(), the peer closed), updates not yet applied here reject with
 *   SynodError NOT_JOINED, as do later ones.
 * - Read replica: `get`, `has`, `keys`, `entries`, `size`, `value`, `slice`: local, no messages;
 *   they see the updates applied so far (a member reads its own write once the promise resolved).
 *
 * Values are JSON-able or Uint8Array and are decoded afresh at every member: treat what `get`
 * returns as read-only.
 */
import { SynodError, type MemberId } from '@synod/core';
import type { Group, Message } from '@synod/peer';
import { leftError } from './lease.js';
import { DIGEST_SEED, Reader, Writer, chainDigest, type ReplicaValue } from './replicated-codec.js';

export type { ReplicaValue } from './replicated-codec.js';

/** The part of `@synod/storage`'s Storage a replica or a checkpoint needs. */
export interface ReplicaStorage {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface ReplicatedOptions {
  /**
   * Keeps a copy of the replica (written behind, coalesced) under `synod.replicated/<group>/<name>`,
   * reloaded when the replica is made: what a group restarted from nothing starts from. A joiner of a
   * live group still takes the group's state by transfer, which replaces the stored copy.
   */
  readonly storage?: ReplicaStorage;
}

export interface UpdateOptions {
  /** Send with safe (uniform) delivery: resolve only once every member of the view holds the update. */
  readonly safe?: boolean;
}

/** Where an applied update sits in the group's update sequence. */
export interface UpdateInfo {
  /** Updates applied so far, this one included: the same number at every member for the same update. */
  readonly version: number;
  /** Unique across the group: the batch's message id and the update's index in it. */
  readonly updateId: string;
  readonly sender: MemberId;
}

export type MapChange =
  | (UpdateInfo & { readonly type: 'set'; readonly key: string; readonly value: ReplicaValue; readonly previous: ReplicaValue | undefined })
  | (UpdateInfo & { readonly type: 'delete'; readonly key: string; readonly previous: ReplicaValue | undefined })
  | (UpdateInfo & { readonly type: 'clear' })
  | LoadChange;
export type CounterChange = (UpdateInfo & { readonly type: 'add'; readonly delta: number; readonly value: number }) | LoadChange;
export type LogChange = (UpdateInfo & { readonly type: 'append'; readonly index: number; readonly value: ReplicaValue }) | LoadChange;
/** The whole replica was replaced: by state transfer, a stored copy or a checkpoint. */
export interface LoadChange {
  readonly type: 'load';
  readonly version: number;
  readonly from: 'transfer' | 'storage' | 'checkpoint';
}

export interface ReplicaStats {
  /** Updates applied (by delivery; loads not counted). */
  applied: number;
  batchesSent: number;
  batchesApplied: number;
  /** Update batches from the network that did not decode, dropped whole. */
  droppedMalformed: number;
  /** Batches for a replica of another type under the same name (a misconfigured peer), dropped. */
  droppedWrongType: number;
  /** Stored copies or transferred states that did not decode, ignored. */
  droppedBadSnapshot: number;
  persisted: number;
  persistFailures: number;
  /** Change listeners that threw (reported through the group's 'error' event). */
  listenerErrors: number;
}

/**
 * A part of the group's replicated state that a checkpoint can save and restore (every replica is
 * one). `hold` makes the part wait, before it applies or hands out anything, until `until` settles.
 */
export interface CheckpointPart {
  readonly partName: string;
  snapshot(): Uint8Array;
  /** Replaces the state; false (and nothing changed) when the bytes are malformed. */
  restore(bytes: Uint8Array, from: LoadChange['from']): boolean;
  hold(until: Promise<unknown>): void;
  /** Optional: resolves once what the part holds for (its stored copy, a checkpoint) is loaded. */
  readonly ready?: Promise<void>;
}

type Op =
  | { readonly type: 'set'; readonly key: string; readonly value: ReplicaValue }
  | { readonly type: 'delete'; readonly key: string }
  | { readonly type: 'clear' }
  | { readonly type: 'add'; readonly delta: number }
  | { readonly type: 'append'; readonly value: ReplicaValue };

const OP_SET = 1;
const OP_DELETE = 2;
const OP_CLEAR = 3;
const OP_ADD = 4;
const OP_APPEND = 5;

const FORMAT = 1;
const TYPE_CODES = { map: 1, counter: 2, log: 3 } as const;
export type ReplicaType = keyof typeof TYPE_CODES;

/** A batch grows to this many bytes before it is sent without waiting for the end of the turn. */
const MAX_BATCH_BYTES = 256 * 1024;

/** One promise per batch (not per update): a turn of a thousand sets makes one. */
interface Settle {
  resolve(results: unknown[]): void;
  reject(error: unknown): void;
}

interface OpenBatch {
  readonly writer: Writer;
  readonly safe: boolean;
  count: number;
  readonly settle: Settle;
  readonly done: Promise<unknown[]>;
  /** `done` without the results, made once for all the void updates of the batch. */
  applied: Promise<void> | undefined;
}

type Listener<C> = (change: C) => void;

abstract class Replica<C extends { readonly type: string }> implements CheckpointPart {
  readonly stats: ReplicaStats = {
    applied: 0,
    batchesSent: 0,
    batchesApplied: 0,
    droppedMalformed: 0,
    droppedWrongType: 0,
    droppedBadSnapshot: 0,
    persisted: 0,
    persistFailures: 0,
    listenerErrors: 0,
  };
  readonly partName: string;
  private readonly kind: string;
  private readonly typeCode: number;
  private versionNo = 0;
  private digestNo = DIGEST_SEED;
  private open: OpenBatch | undefined;
  private flushQueued = false;
  private nextBatchNo = 1;
  private readonly inFlight = new Map<number, Settle>();
  private readonly listeners = new Set<Listener<C>>();
  private gate: Promise<void> | undefined;
  private transferred = false;
  private readonly storage: ReplicaStorage | undefined;
  private readonly storageKey: string;
  private persisting = false;
  private listenerError: unknown;
  private persistAgain = false;
  /** Set once the group is left for good: updates in flight ended with it, and later ones reject with it. */
  private ended: SynodError | undefined;

  constructor(
    protected readonly group: Group,
    readonly name: string,
    type: ReplicaType,
    options: ReplicatedOptions,
  ) {
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new SynodError('INVALID_ARGUMENT', 'a replica needs a name of 1..200 characters');
    }
    if (options === null || typeof options !== 'object') throw new SynodError('INVALID_ARGUMENT', 'replicated: options must be an object');
    this.typeCode = TYPE_CODES[type];
    this.kind = `synod.replicated/${name}/update`;
    this.partName = `synod.replicated/${name}`;
    this.storageKey = `synod.replicated/${group.name}/${name}`;
    this.storage = options.storage;
    group.statePart(this.partName, {
      save: async () => {
        await this.waitGate();
        return this.snapshot();
      },
      load: (bytes) => {
        // A transfer is the group's state: it wins over a stored copy still being read.
        this.transferred = true;
        if (!this.restore(bytes, 'transfer')) throw new SynodError('INVALID_ARGUMENT', `replica ${name}: the transferred state is malformed`);
      },
    });
    group.handle(this.kind, (message) => {
      if (this.gate) return this.waitGate().then(() => this.deliver(message));
      this.deliver(message);
    });
    group.on('excluded', ({ memberId }) => {
      // Updates in flight from the old member id are never delivered back to this member.
      const error = new SynodError('EXCLUDED', `replica ${name}: ${memberId} was excluded before its updates were applied here`);
      for (const settle of this.inFlight.values()) settle.reject(error);
      this.inFlight.clear();
    });
    group.on('left', ({ reason }) => {
      // Updates sent but not yet delivered back never will be.
      this.ended = leftError(`replica ${name}`, group, reason);
      for (const settle of this.inFlight.values()) settle.reject(this.ended);
      this.inFlight.clear();
    });
    if (this.storage) {
      const storage = this.storage;
      this.hold(
        storage.get(this.storageKey).then((bytes) => {
          if (bytes && !this.transferred && !this.restore(bytes, 'storage')) this.stats.droppedBadSnapshot++;
        }),
      );
    }
  }

  /** Updates applied here so far (transferred and restored ones included). */
  get version(): number {
    return this.versionNo;
  }

  /** A digest of the applied update sequence: equal at two members with equal versions. */
  get digest(): number {
    return this.digestNo;
  }

  /** Resolves once any stored copy or checkpoint this replica waits for has been loaded. */
  get ready(): Promise<void> {
    return this.waitGate();
  }

  on(event: 'change', listener: Listener<C>): () => void {
    if (event !== 'change') throw new SynodError('INVALID_ARGUMENT', `replicas emit 'change', not ${String(event)}`);
    if (typeof listener !== 'function') throw new SynodError('INVALID_ARGUMENT', 'a change listener must be a function');
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  hold(until: Promise<unknown>): void {
    const previous = this.gate ?? Promise.resolve();
    const gate: Promise<void> = Promise.all([previous, until.then(undefined, () => undefined)]).then(() => {
      if (this.gate === gate) this.gate = undefined;
    });
    this.gate = gate;
  }

  private async waitGate(): Promise<void> {
    while (this.gate) await this.gate;
  }

  snapshot(): Uint8Array {
    const writer = new Writer();
    writer.u8(FORMAT);
    writer.u8(this.typeCode);
    writer.f64(this.versionNo);
    writer.u32(this.digestNo);
    this.writeContent(writer);
    return writer.finish();
  }

  restore(bytes: Uint8Array, from: LoadChange['from']): boolean {
    const reader = new Reader(bytes);
    if (reader.u8() !== FORMAT || reader.u8() !== this.typeCode) return false;
    const version = reader.f64();
    const digest = reader.u32();
    if (version === undefined || digest === undefined || !Number.isSafeInteger(version) || version < 0) return false;
    const content = this.readContent(reader);
    if (!content || !reader.done) return false;
    content();
    this.versionNo = version;
    this.digestNo = digest;
    if (from !== 'storage') this.persist();
    this.emit({ type: 'load', version, from } as LoadChange as unknown as C);
    return true;
  }

  // ------------------------------------------------------------------ updates

  /** Queues an update; resolves with its result once applied here. */
  protected enqueue(op: Op, options: UpdateOptions | undefined): Promise<unknown> {
    const { batch, index } = this.queue(op, options);
    return batch.done.then((results) => results[index]);
  }

  /** Queues an update without a result: every such update of a batch shares one promise. */
  protected enqueueVoid(op: Op, options: UpdateOptions | undefined): Promise<void> {
    const { batch } = this.queue(op, options);
    return (batch.applied ??= batch.done.then(() => undefined));
  }

  private queue(op: Op, options: UpdateOptions | undefined): { batch: OpenBatch; index: number } {
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new SynodError('INVALID_ARGUMENT', 'update options must be an object');
    }
    const safe = options?.safe === true;
    if (this.open && this.open.safe !== safe) this.flush(); // keep the caller's order across kinds
    const batch = (this.open ??= openBatch(this.typeCode, safe));
    const before = batch.writer.length;
    try {
      writeOp(batch.writer, op);
    } catch (error) {
      batch.writer.truncate(before);
      if (batch.count === 0) this.open = undefined;
      throw error;
    }
    const index = batch.count++;
    if (batch.writer.length >= MAX_BATCH_BYTES) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
    return { batch, index };
  }

  private flush(): void {
    const batch = this.open;
    this.open = undefined;
    if (!batch || batch.count === 0) return;
    if (this.ended) {
      batch.settle.reject(this.ended);
      return;
    }
    const batchNo = this.nextBatchNo++;
    const bytes = batch.writer.finish();
    new DataView(bytes.buffer).setUint32(2, batchNo); // patch the batch number in (see startBatch)
    new DataView(bytes.buffer).setUint32(6, batch.count);
    this.inFlight.set(batchNo, batch.settle);
    this.stats.batchesSent++;
    const cast = batch.safe ? this.group.safe : this.group.abcast;
    cast(this.kind, bytes).catch((error: unknown) => {
      this.inFlight.get(batchNo)?.reject(error);
      this.inFlight.delete(batchNo);
    });
  }

  private deliver(message: Message): void {
    const batch = decodeBatch(message.data);
    if (!batch) {
      this.stats.droppedMalformed++;
      return;
    }
    if (batch.typeCode !== this.typeCode) {
      this.stats.droppedWrongType++;
      return;
    }
    const own = message.sender === this.group.memberId ? this.inFlight.get(batch.batchNo) : undefined;
    const results: unknown[] = [];
    const listened = this.listeners.size > 0;
    // The digest chains batch by batch: it is read between deliveries, never inside one.
    this.digestNo = chainDigest(this.digestNo, message.id);
    for (let index = 0; index < batch.ops.length; index++) {
      this.versionNo++;
      const info: UpdateInfo | undefined = listened ? { version: this.versionNo, updateId: `${message.id}/${index}`, sender: message.sender } : undefined;
      const result = this.apply(batch.ops[index]!, info);
      if (own) results.push(result);
    }
    const listenerError = this.listenerError;
    this.listenerError = undefined;
    this.stats.applied += batch.ops.length;
    this.stats.batchesApplied++;
    if (own) {
      this.inFlight.delete(batch.batchNo);
      own.resolve(results);
    }
    this.persist();
    if (listenerError !== undefined) throw listenerError;
  }

  /** Calls every listener; the first error thrown waits in listenerError until the batch is applied. */
  protected changed(change: C): void {
    this.listenerError ??= this.emit(change);
  }

  private emit(change: C): unknown {
    let first: unknown;
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.stats.listenerErrors++;
        first ??= error;
      }
    }
    return first;
  }

  /** Write-behind: one write at a time, each of the latest state; bursts coalesce. */
  private persist(): void {
    const storage = this.storage;
    if (!storage) return;
    if (this.persisting) {
      this.persistAgain = true;
      return;
    }
    this.persisting = true;
    storage.put(this.storageKey, this.snapshot()).then(
      () => {
        this.stats.persisted++;
        this.persisting = false;
        if (this.persistAgain) {
          this.persistAgain = false;
          this.persist();
        }
      },
      () => {
        this.stats.persistFailures++;
        this.persisting = false;
        this.persistAgain = false;
      },
    );
  }

  /**
   * Applies one delivered update and returns its result; with `info` (someone listens) reports the
   * change through changed(). An op of another type is a no-op.
   */
  protected abstract apply(op: Op, info: UpdateInfo | undefined): unknown;
  protected abstract writeContent(writer: Writer): void;
  /** Decodes the content; returns the function that installs it, or undefined when malformed. */
  protected abstract readContent(reader: Reader): (() => void) | undefined;
}

export class ReplicatedMap extends Replica<MapChange> {
  private readonly entriesByKey = new Map<string, ReplicaValue>();

  constructor(group: Group, name: string, options: ReplicatedOptions = {}) {
    super(group, name, 'map', options);
  }

  get size(): number {
    return this.entriesByKey.size;
  }
  get(key: string): ReplicaValue | undefined {
    return this.entriesByKey.get(key);
  }
  has(key: string): boolean {
    return this.entriesByKey.has(key);
  }
  keys(): IterableIterator<string> {
    return this.entriesByKey.keys();
  }
  entries(): IterableIterator<[string, ReplicaValue]> {
    return this.entriesByKey.entries();
  }

  set(key: string, value: ReplicaValue, options?: UpdateOptions): Promise<void> {
    checkKey(key);
    if (value === undefined) throw new SynodError('INVALID_ARGUMENT', 'replicated map: a value cannot be undefined (use delete)');
    return this.enqueueVoid({ type: 'set', key, value }, options);
  }
  delete(key: string, options?: UpdateOptions): Promise<void> {
    checkKey(key);
    return this.enqueueVoid({ type: 'delete', key }, options);
  }
  clear(options?: UpdateOptions): Promise<void> {
    return this.enqueueVoid({ type: 'clear' }, options);
  }

  protected apply(op: Op, info: UpdateInfo | undefined): unknown {
    switch (op.type) {
      case 'set': {
        const previous = info && this.entriesByKey.get(op.key);
        this.entriesByKey.set(op.key, op.value);
        if (info) this.changed({ version: info.version, updateId: info.updateId, sender: info.sender, type: 'set', key: op.key, value: op.value, previous });
        return undefined;
      }
      case 'delete': {
        const previous = info && this.entriesByKey.get(op.key);
        this.entriesByKey.delete(op.key);
        if (info) this.changed({ version: info.version, updateId: info.updateId, sender: info.sender, type: 'delete', key: op.key, previous });
        return undefined;
      }
      case 'clear':
        this.entriesByKey.clear();
        if (info) this.changed({ version: info.version, updateId: info.updateId, sender: info.sender, type: 'clear' });
        return undefined;
      default:
        return undefined;
    }
  }

  protected writeContent(writer: Writer): void {
    writer.u32(this.entriesByKey.size);
    for (const [key, value] of this.entriesByKey) {
      writer.string(key);
      writer.value(value);
    }
  }

  protected readContent(reader: Reader): (() => void) | undefined {
    const count = reader.u32();
    if (count === undefined) return undefined;
    const entries: [string, ReplicaValue][] = [];
    for (let i = 0; i < count; i++) {
      const key = reader.string();
      const value = key === undefined ? undefined : reader.value();
      if (key === undefined || value === undefined) return undefined;
      entries.push([key, value.value]);
    }
    return () => {
      this.entriesByKey.clear();
      for (const [key, value] of entries) this.entriesByKey.set(key, value);
    };
  }
}

export class ReplicatedCounter extends Replica<CounterChange> {
  private total = 0;

  constructor(group: Group, name: string, options: ReplicatedOptions = {}) {
    super(group, name, 'counter', options);
  }

  get value(): number {
    return this.total;
  }
  get(): number {
    return this.total;
  }

  /** Resolves with the counter's value just after this addition, the same at every member. */
  add(delta: number, options?: UpdateOptions): Promise<number> {
    if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new SynodError('INVALID_ARGUMENT', 'replicated counter: delta must be a finite number');
    return this.enqueue({ type: 'add', delta }, options) as Promise<number>;
  }

  protected apply(op: Op, info: UpdateInfo | undefined): unknown {
    if (op.type !== 'add') return this.total;
    this.total += op.delta;
    if (info) this.changed({ version: info.version, updateId: info.updateId, sender: info.sender, type: 'add', delta: op.delta, value: this.total });
    return this.total;
  }

  protected writeContent(writer: Writer): void {
    writer.f64(this.total);
  }

  protected readContent(reader: Reader): (() => void) | undefined {
    const total = reader.f64();
    if (total === undefined || !Number.isFinite(total)) return undefined;
    return () => (this.total = total);
  }
}

export class ReplicatedLog extends Replica<LogChange> {
  private readonly items: ReplicaValue[] = [];

  constructor(group: Group, name: string, options: ReplicatedOptions = {}) {
    super(group, name, 'log', options);
  }

  get length(): number {
    return this.items.length;
  }
  get(index: number): ReplicaValue | undefined {
    return this.items[index];
  }
  slice(start?: number, end?: number): ReplicaValue[] {
    return this.items.slice(start, end);
  }

  /** Resolves with the entry's index, the same at every member. */
  append(value: ReplicaValue, options?: UpdateOptions): Promise<number> {
    if (value === undefined) throw new SynodError('INVALID_ARGUMENT', 'replicated log: a value cannot be undefined');
    return this.enqueue({ type: 'append', value }, options) as Promise<number>;
  }

  protected apply(op: Op, info: UpdateInfo | undefined): unknown {
    if (op.type !== 'append') return undefined;
    const index = this.items.push(op.value) - 1;
    if (info) this.changed({ version: info.version, updateId: info.updateId, sender: info.sender, type: 'append', index, value: op.value });
    return index;
  }

  protected writeContent(writer: Writer): void {
    writer.u32(this.items.length);
    for (const item of this.items) writer.value(item);
  }

  protected readContent(reader: Reader): (() => void) | undefined {
    const count = reader.u32();
    if (count === undefined) return undefined;
    const items: ReplicaValue[] = [];
    for (let i = 0; i < count; i++) {
      const item = reader.value();
      if (!item) return undefined;
      items.push(item.value);
    }
    return () => this.items.splice(0, this.items.length, ...items);
  }
}

/**
 * Creates a replica named `name` (unique per group) of a map, a counter or a log. Call it inside
 * JoinOptions.setup: `peer.join('g', { setup: (g) => (flights = replicated(g, 'flights', 'map')) })`.
 */
export function replicated(group: Group, name: string, type: 'map', options?: ReplicatedOptions): ReplicatedMap;
export function replicated(group: Group, name: string, type: 'counter', options?: ReplicatedOptions): ReplicatedCounter;
export function replicated(group: Group, name: string, type: 'log', options?: ReplicatedOptions): ReplicatedLog;
export function replicated(group: Group, name: string, type: ReplicaType, options: ReplicatedOptions = {}): ReplicatedMap | ReplicatedCounter | ReplicatedLog {
  switch (type) {
    case 'map':
      return new ReplicatedMap(group, name, options);
    case 'counter':
      return new ReplicatedCounter(group, name, options);
    case 'log':
      return new ReplicatedLog(group, name, options);
    default:
      throw new SynodError('INVALID_ARGUMENT', `replicated: type must be 'map', 'counter' or 'log', not ${String(type)}`);
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new SynodError('INVALID_ARGUMENT', `replicated map: a key must be a string, not ${typeof key}`);
}

function openBatch(typeCode: number, safe: boolean): OpenBatch {
  let settle!: Settle;
  const done = new Promise<unknown[]>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined); // the promises handed to callers carry the rejection
  return { writer: startBatch(typeCode), safe, count: 0, settle, done, applied: undefined };
}

/** Header: format u8, type u8, batch number u32, op count u32 (the last two patched in by flush). */
function startBatch(typeCode: number): Writer {
  const writer = new Writer();
  writer.u8(FORMAT);
  writer.u8(typeCode);
  writer.u32(0);
  writer.u32(0);
  return writer;
}

function writeOp(writer: Writer, op: Op): void {
  switch (op.type) {
    case 'set':
      writer.u8(OP_SET);
      writer.string(op.key);
      writer.value(op.value);
      return;
    case 'delete':
      writer.u8(OP_DELETE);
      writer.string(op.key);
      return;
    case 'clear':
      writer.u8(OP_CLEAR);
      return;
    case 'add':
      writer.u8(OP_ADD);
      writer.f64(op.delta);
      return;
    case 'append':
      writer.u8(OP_APPEND);
      writer.value(op.value);
      return;
  }
}

export function decodeBatch(data: unknown): { typeCode: number; batchNo: number; ops: Op[] } | undefined {
  if (!(data instanceof Uint8Array)) return undefined;
  const reader = new Reader(data);
  const format = reader.u8();
  const typeCode = reader.u8();
  const batchNo = reader.u32();
  const count = reader.u32();
  if (format !== FORMAT || typeCode === undefined || batchNo === undefined || count === undefined) return undefined;
  const ops: Op[] = [];
  for (let i = 0; i < count; i++) {
    const op = readOp(reader);
    if (!op) return undefined;
    ops.push(op);
  }
  return reader.done ? { typeCode, batchNo, ops } : undefined;
}

function readOp(reader: Reader): Op | undefined {
  switch (reader.u8()) {
    case OP_SET: {
      const key = reader.string();
      const value = key === undefined ? undefined : reader.value();
      return key === undefined || value === undefined ? undefined : { type: 'set', key, value: value.value };
    }
    case OP_DELETE: {
      const key = reader.string();
      return key === undefined ? undefined : { type: 'delete', key };
    }
    case OP_CLEAR:
      return { type: 'clear' };
    case OP_ADD: {
      const delta = reader.f64();
      return delta === undefined || !Number.isFinite(delta) ? undefined : { type: 'add', delta };
    }
    case OP_APPEND: {
      const value = reader.value();
      return value === undefined ? undefined : { type: 'append', value: value.value };
    }
    default:
      return undefined;
  }
}
