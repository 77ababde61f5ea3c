/**
 * Node storage: one file per key in one directory.
 *
 * put: the record goes to a fresh temp file, which is fsynced and renamed over the key's file; then
 * the directory is fsynced. rename(2) replaces a name atomically, so a reader, or the process after
 * a crash, finds the old file or the new one, never a torn one; the fsyncs make the new one survive
 * a power loss once put resolves.
 *
 * putMany: a redo journal. The whole batch is first written the same way to the file `journal`;
 * the batch commits at the instant that rename lands. The entries are then written one by one as
 * above, and the journal is removed. Opening the directory replays a journal it finds (rewriting
 * whole files is idempotent, so a crash during a replay is harmless) and removes leftover temp
 * files. A crash before the journal's rename leaves the old values, after it the new ones.
 * Why not a generation directory swapped by rename: a new generation must hold every key, so each
 * batch would copy (or hard-link) the whole store and readers would need an indirection to find
 * the current one; the journal costs twice the batch and nothing for the rest of the store.
 *
 * Every operation of one storage runs in call order, one at a time: nobody sees a batch half
 * applied. A directory is open at most once per process (a second open throws); one process at a
 * time may use it.
 *
 * File names: a key's UTF-8 bytes, with [a-z0-9_-] kept and every other byte written `~hh`, after
 * the letter `k`; a name longer than 200 characters becomes `h` + the SHA-256 of the key. Names
 * only ever hold [a-z0-9_~-], so no key can name `..`, a path separator, a device, or collide with
 * another key on a case-insensitive file system. Each file also holds its key, which is how keys()
 * lists hashed names and how get() checks that it read the right file.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SynodError } from '@synod/core';
import { checkedStorage, sortKeys, type Storage, type StorageBackend } from './storage.js';

const JOURNAL = 'journal';
const TEMP_PREFIX = 'tmp-';
const RECORD_VERSION = 1;
const JOURNAL_MAGIC = 0x53594e4a; // "SYNJ"
const MAX_NAME_CHARS = 200;
/** Files written at once by a batch: enough to overlap the fsyncs, few enough to keep descriptors. */
const WRITE_CONCURRENCY = 16;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const openDirs = new Set<string>();
let tempCounter = 0;

/** `[a-z0-9_-]` kept, any other UTF-8 byte as `~hh`. */
export function escapeName(text: string): string {
  let escaped = '';
  for (const byte of utf8.encode(text)) {
    const plain = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x5f;
    escaped += plain ? String.fromCharCode(byte) : `~${byte.toString(16).padStart(2, '0')}`;
  }
  return escaped;
}

function unescapeName(escaped: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] !== '~') {
      bytes.push(escaped.charCodeAt(i));
      continue;
    }
    const hex = escaped.slice(i + 1, i + 3);
    if (!/^[0-9a-f]{2}$/.test(hex)) return undefined;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

export function fileNameOf(key: string): string {
  const name = `k${escapeName(key)}`;
  return name.length <= MAX_NAME_CHARS ? name : `h${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A value file: version byte, u32 length of the key's UTF-8, the key, the value. */
function encodeRecord(key: string, value: Uint8Array): Uint8Array {
  const keyBytes = utf8.encode(key);
  const record = new Uint8Array(5 + keyBytes.length + value.length);
  const view = new DataView(record.buffer);
  view.setUint8(0, RECORD_VERSION);
  view.setUint32(1, keyBytes.length);
  record.set(keyBytes, 5);
  record.set(value, 5 + keyBytes.length);
  return record;
}

function decodeRecord(bytes: Uint8Array, file: string): { key: string; value: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 5 || view.getUint8(0) !== RECORD_VERSION || 5 + view.getUint32(1) > bytes.length) {
    throw new Error(`storage: ${file} is not a Synod storage record`);
  }
  const keyEnd = 5 + view.getUint32(1);
  return { key: strictUtf8.decode(bytes.subarray(5, keyEnd)), value: bytes.slice(keyEnd) };
}

/** The journal: magic, u32 count, then per entry u32 key length, key, u32 value length, value. */
export function encodeJournal(entries: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const parts: [Uint8Array, Uint8Array][] = [...entries].map(([key, value]) => [utf8.encode(key), value]);
  const size = parts.reduce((sum, [key, value]) => sum + 8 + key.length + value.length, 8);
  const journal = new Uint8Array(size);
  const view = new DataView(journal.buffer);
  view.setUint32(0, JOURNAL_MAGIC);
  view.setUint32(4, parts.length);
  let offset = 8;
  for (const [key, value] of parts) {
    view.setUint32(offset, key.length);
    journal.set(key, offset + 4);
    offset += 4 + key.length;
    view.setUint32(offset, value.length);
    journal.set(value, offset + 4);
    offset += 4 + value.length;
  }
  return journal;
}

function decodeJournal(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const malformed = () => new Error(`storage: ${file} is not a Synod storage journal`);
  if (bytes.length < 8 || view.getUint32(0) !== JOURNAL_MAGIC) throw malformed();
  const entries = new Map<string, Uint8Array>();
  let offset = 8;
  const take = (): Uint8Array => {
    if (offset + 4 > bytes.length) throw malformed();
    const length = view.getUint32(offset);
    if (offset + 4 + length > bytes.length) throw malformed();
    const slice = bytes.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return slice;
  };
  for (let count = view.getUint32(4); count > 0; count--) {
    const key = strictUtf8.decode(take());
    entries.set(key, take());
  }
  if (offset !== bytes.length) throw malformed();
  return entries;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Makes the directory's entries (created, renamed, removed names) durable. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    if (process.platform === 'win32') return; // Windows opens no directory; NTFS journals its metadata.
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function forEachLimited<T>(items: readonly T[], limit: number, body: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await body(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

class FileBackend implements StorageBackend {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly dir: string) {}

  /** Runs `body` after every operation called before it. */
  private serial<T>(body: () => Promise<T>): Promise<T> {
    const result = this.tail.then(body, body);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Writes `bytes` to a fsynced temp file in the directory; returns its path. */
  private async writeTemp(bytes: Uint8Array): Promise<string> {
    const temp = join(this.dir, `${TEMP_PREFIX}${process.pid}-${++tempCounter}`);
    try {
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    return temp;
  }

  /** Writes every entry by temp file + rename, then the directory's fsync; removes the journal last. */
  async apply(entries: ReadonlyMap<string, Uint8Array>, journal: boolean): Promise<void> {
    const temps = new Map<string, string>();
    await forEachLimited([...entries], WRITE_CONCURRENCY, async ([key, value]) => {
      temps.set(key, await this.writeTemp(encodeRecord(key, value)));
    });
    for (const [key, temp] of temps) await rename(temp, join(this.dir, fileNameOf(key)));
    await syncDir(this.dir);
    if (journal) {
      await unlink(join(this.dir, JOURNAL));
      await syncDir(this.dir);
    }
  }

  /** After a crash: temp files are dropped (their renames never happened); a journal is replayed. */
  async recover(): Promise<void> {
    const names = await readdir(this.dir);
    const temps = names.filter((name) => name.startsWith(TEMP_PREFIX));
    for (const temp of temps) await unlink(join(this.dir, temp));
    if (names.includes(JOURNAL)) {
      const journalPath = join(this.dir, JOURNAL);
      await this.apply(decodeJournal(await readFile(journalPath), journalPath), true);
    } else if (temps.length > 0) {
      await syncDir(this.dir);
    }
  }

  private async readRecord(name: string): Promise<{ key: string; value: Uint8Array } | undefined> {
    const path = join(this.dir, name);
    try {
      const bytes = await readFile(path);
      return decodeRecord(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.serial(async () => {
      const name = fileNameOf(key);
      const record = await this.readRecord(name);
      if (record !== undefined && record.key !== key) throw new Error(`storage: ${join(this.dir, name)} holds another key`);
      return record?.value;
    });
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.serial(() => this.apply(new Map([[key, value]]), false));
  }

  putMany(entries: ReadonlyMap<string, Uint8Array>): Promise<void> {
    return this.serial(async () => {
      const temp = await this.writeTemp(encodeJournal(entries));
      await rename(temp, join(this.dir, JOURNAL));
      await syncDir(this.dir); // the commit point: from here on, a crash ends with the new values
      await this.apply(entries, true);
    });
  }

  delete(key: string): Promise<void> {
    return this.serial(async () => {
      try {
        await unlink(join(this.dir, fileNameOf(key)));
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      await syncDir(this.dir);
    });
  }

  keys(prefix: string): Promise<string[]> {
    return this.serial(async () => {
      const keys: string[] = [];
      for (const name of await readdir(this.dir)) {
        let key: string | undefined;
        if (name.startsWith('k')) key = unescapeName(name.slice(1));
        else if (name.startsWith('h')) key = (await this.readRecord(name))?.key;
        if (key !== undefined && key.startsWith(prefix)) keys.push(key);
      }
      return sortKeys(keys);
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => undefined);
    openDirs.delete(this.dir);
  }
}

/** A storage in `dir` (created if missing), recovered from any crash of its last user. */
export async function fileStorage(dir: string): Promise<Storage> {
  if (typeof dir !== 'string' || dir === '') throw new SynodError('INVALID_ARGUMENT', 'storage: dir must be a non-empty string');
  const path = resolve(dir);
  if (openDirs.has(path)) throw new SynodError('INVALID_ARGUMENT', `storage: ${path} is already open in this process; close it first`);
  openDirs.add(path);
  try {
    const created = await mkdir(path, { recursive: true });
    if (created !== undefined) {
      // Every directory made here needs its parent's entry on disk.
      for (let made = path; made.length >= created.length; made = dirname(made)) await syncDir(dirname(made));
    }
    const backend = new FileBackend(path);
    await backend.recover();
    return checkedStorage(backend);
  } catch (error) {
    openDirs.delete(path);
    throw error;
  }
}
