/**
 * Group checkpoints: a consistent cut of a group's replicated state, saved to storage at every
 * member, and restored when the group restarts from nothing (the Isis toolkit's checkpoint tool).
 *
 * `take()` abcasts a CHECKPOINT marker. Every member, on delivering it, snapshots all the parts
 * (replicas) at once, in the handler, so nothing is applied between two parts: because every
 * member delivers the marker at the same point of the total order, every member saves the same cut.
 * The snapshot goes to storage under `synod.checkpoint/<group>/<name>` (one key, replaced
 * atomically). A joiner takes the parts by state transfer as usual; the checkpoint number travels
 * with the transfer so numbering goes on.
 *
 * When a member founds the group (its first view holds only itself: no live group to transfer
 * from), it loads the latest checkpoint from its storage into the parts before they apply any
 * update or hand their state to a joiner. `restored` says what it loaded.
 */
import { SynodError } from '@synod/core';
import type { Group, Message } from '@synod/peer';
import { leftError } from './lease.js';
import { Reader, Writer } from './replicated-codec.js';
import type { CheckpointPart, ReplicaStorage } from './replicated.js';

export interface CheckpointOptions {
  readonly storage: ReplicaStorage;
  /** The parts of the cut: replicas (or anything with CheckpointPart's methods), unique names. */
  readonly parts: readonly CheckpointPart[];
  /** Names this checkpoint (message kinds and storage key). Default 'checkpoint'. */
  readonly name?: string;
}

export interface CheckpointInfo {
  /** The checkpoint's number in the group, the same at every member for the same cut. */
  readonly seq: number;
  /** The marker's message id. */
  readonly id: string;
  readonly sizeBytes: number;
}

export interface CheckpointEvent extends CheckpointInfo {
  /** 'cut': the parts were just snapshot (in the delivery sequence); 'saved': storage has it; 'restored': loaded at founding. */
  readonly type: 'cut' | 'saved' | 'restored';
}

export interface CheckpointStats {
  cuts: number;
  saved: number;
  saveFailures: number;
  /** Markers from the network that did not decode, dropped (at every member alike). */
  droppedMalformed: number;
  /** A stored checkpoint that did not decode (or a part that refused its bytes). */
  restoreFailures: number;
}

export interface GroupCheckpoint {
  readonly stats: CheckpointStats;
  /** The last checkpoint cut or restored here. */
  readonly latest: CheckpointInfo | undefined;
  /**
   * Resolves once the founding decision is made: the checkpoint restored, or undefined (joined a
   * live group, nothing stored, or the group left before its first view).
   */
  readonly restored: Promise<CheckpointInfo | undefined>;
  /**
   * Takes a checkpoint of the whole group; resolves once this member has saved it. Once the group
   * is left (leave(), the peer closed), takes not yet cut reject with SynodError NOT_JOINED, as do later ones.
   */
  take(): Promise<CheckpointInfo>;
  on(event: 'checkpoint', listener: (event: CheckpointEvent) => void): () => void;
}

const FORMAT = 1;

/** Make it inside JoinOptions.setup, after the parts, so it restores them before the first delivery. */
export function checkpoint(group: Group, options: CheckpointOptions): GroupCheckpoint {
  if (options === null || typeof options !== 'object') throw new SynodError('INVALID_ARGUMENT', 'checkpoint: options are required');
  const { storage, parts } = options;
  const name = options.name ?? 'checkpoint';
  if (!storage || typeof storage.get !== 'function' || typeof storage.put !== 'function') {
    throw new SynodError('INVALID_ARGUMENT', 'checkpoint: storage must have get and put');
  }
  if (!Array.isArray(parts) || parts.length === 0) throw new SynodError('INVALID_ARGUMENT', 'checkpoint: parts must be a non-empty array');
  const partNames = new Set<string>();
  for (const part of parts) {
    if (!part || typeof part.snapshot !== 'function' || typeof part.restore !== 'function' || typeof part.hold !== 'function') {
      throw new SynodError('INVALID_ARGUMENT', 'checkpoint: every part needs partName, snapshot, restore and hold (replicas have them)');
    }
    if (partNames.has(part.partName)) throw new SynodError('INVALID_ARGUMENT', `checkpoint: part ${part.partName} given twice`);
    partNames.add(part.partName);
  }
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new SynodError('INVALID_ARGUMENT', 'checkpoint: name must be 1..200 characters');

  const kind = `synod.checkpoint/${name}/mark`;
  const storageKey = `synod.checkpoint/${group.name}/${name}`;
  const stats: CheckpointStats = { cuts: 0, saved: 0, saveFailures: 0, droppedMalformed: 0, restoreFailures: 0 };
  const listeners = new Set<(event: CheckpointEvent) => void>();
  const waiters = new Map<string, { resolve(info: CheckpointInfo): void; reject(error: unknown): void }>();
  let seq = 0;
  let latest: CheckpointInfo | undefined;
  let nextTake = 1;
  /** Set once the group is left for good: every wait ended with it, and later takes reject with it. */
  let ended: SynodError | undefined;

  const emit = (event: CheckpointEvent) => {
    for (const listener of [...listeners]) listener(event);
  };

  // The checkpoint number is replicated state too: a joiner continues it.
  group.statePart(`synod.checkpoint/${name}`, {
    save: () => {
      const writer = new Writer(8);
      writer.f64(seq);
      return writer.finish();
    },
    load: (bytes) => {
      const value = new Reader(bytes).f64();
      if (value !== undefined && Number.isSafeInteger(value) && value >= 0) seq = value;
    },
  });

  // A founder's parts are restored asynchronously (storage reads): a marker delivered before then
  // waits in the handler (holding later deliveries back), so the cut is never of the empty parts.
  let partsSettled = false;
  group.handle(kind, (message) => {
    if (partsSettled) return cut(message);
    return restored
      .then(() => Promise.all(parts.map((part) => part.ready)))
      .then(() => {
        partsSettled = true;
        cut(message);
      });
  });

  const cut = (message: Message): void => {
    const token = message.data;
    if (typeof token !== 'string') {
      stats.droppedMalformed++;
      return;
    }
    seq++;
    stats.cuts++;
    // The cut: every part at this one point of the total order.
    const writer = new Writer(1024);
    writer.u8(FORMAT);
    writer.f64(seq);
    writer.string(message.id);
    writer.u32(parts.length);
    for (const part of parts) {
      writer.string(part.partName);
      writer.bytes(part.snapshot());
    }
    const bytes = writer.finish();
    const info: CheckpointInfo = { seq, id: message.id, sizeBytes: bytes.length };
    latest = info;
    const waiter = message.sender === group.memberId ? waiters.get(token) : undefined;
    if (waiter) waiters.delete(token);
    emit({ type: 'cut', ...info });
    storage.put(storageKey, bytes).then(
      () => {
        stats.saved++;
        emit({ type: 'saved', ...info });
        waiter?.resolve(info);
      },
      (error: unknown) => {
        stats.saveFailures++;
        waiter?.reject(error);
      },
    );
  };

  group.on('excluded', ({ memberId }) => {
    const error = new SynodError('EXCLUDED', `checkpoint: ${memberId} was excluded before its marker was delivered`);
    for (const waiter of waiters.values()) waiter.reject(error);
    waiters.clear();
  });
  // A take already cut resolves when storage has it; the others' markers will never be delivered here.
  group.on('left', ({ reason }) => {
    ended = leftError('checkpoint', group, reason);
    for (const waiter of waiters.values()) waiter.reject(ended);
    waiters.clear();
    firstView(false); // left before any view: nothing to restore
  });

  // Founding: wait for the first view; a founder (alone in it) restores the stored checkpoint.
  const stored = storage.get(storageKey).catch(() => undefined);
  let firstView: (founder: boolean) => void = () => undefined;
  const decided = new Promise<boolean>((resolve) => (firstView = resolve));
  const stopListening = group.on('view', (view) => {
    stopListening();
    firstView(view.members.length === 1);
  });
  const restored = decided.then(async (founder) => {
    const bytes = founder ? await stored : undefined;
    if (!bytes) return undefined;
    const decoded = decodeCheckpoint(bytes);
    if (!decoded) {
      stats.restoreFailures++;
      return undefined;
    }
    const byName = new Map(decoded.parts);
    for (const part of parts) {
      const partBytes = byName.get(part.partName);
      if (partBytes && !part.restore(partBytes, 'checkpoint')) stats.restoreFailures++;
    }
    seq = decoded.seq;
    const info: CheckpointInfo = { seq: decoded.seq, id: decoded.id, sizeBytes: bytes.length };
    latest = info;
    emit({ type: 'restored', ...info });
    return info;
  });
  for (const part of parts) part.hold(restored);

  return {
    stats,
    get latest() {
      return latest;
    },
    restored,
    take() {
      if (ended) return Promise.reject(ended);
      const token = `${group.memberId}#${nextTake++}`;
      const done = new Promise<CheckpointInfo>((resolve, reject) => waiters.set(token, { resolve, reject }));
      group.abcast(kind, token).catch((error: unknown) => {
        const waiter = waiters.get(token);
        waiters.delete(token);
        waiter?.reject(error);
      });
      return done;
    },
    on(event, listener) {
      if (event !== 'checkpoint') throw new SynodError('INVALID_ARGUMENT', `checkpoint emits 'checkpoint', not ${String(event)}`);
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function decodeCheckpoint(bytes: Uint8Array): { seq: number; id: string; parts: [string, Uint8Array][] } | undefined {
  const reader = new Reader(bytes);
  if (reader.u8() !== FORMAT) return undefined;
  const seq = reader.f64();
  const id = reader.string();
  const count = reader.u32();
  if (seq === undefined || !Number.isSafeInteger(seq) || id === undefined || count === undefined) return undefined;
  const parts: [string, Uint8Array][] = [];
  for (let i = 0; i < count; i++) {
    const partName = reader.string();
    const partBytes = partName === undefined ? undefined : reader.raw();
    if (partName === undefined || partBytes === undefined) return undefined;
    parts.push([partName, partBytes]);
  }
  return reader.done ? { seq, id, parts } : undefined;
}
