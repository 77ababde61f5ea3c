import { SynodError } from '@synod/core';

/**
 * A durable map from string keys to bytes: what group checkpoints, replicated data and shared
 * regions persist so that a reloaded page or a restarted process gets its state back.
 *
 * Every operation is asynchronous and takes effect in call order. Values are copied in and out:
 * mutating an array after `put`, or one returned by `get`, changes nothing stored.
 */
export interface Storage {
  /** The value stored under `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `value` under `key`; when it resolves, the write is atomic and durable. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Stores every entry, all or nothing, even across a crash; a key given twice keeps its last value. */
  putMany(entries: Iterable<readonly [string, Uint8Array]>): Promise<void>;
  /** Removes `key` (durably); removing a missing key does nothing. */
  delete(key: string): Promise<void>;
  /** The stored keys that start with `prefix` (default: all), sorted by UTF-16 code units. */
  keys(prefix?: string): Promise<string[]>;
  /** Waits for the operations already called, then releases the storage; later calls reject with CLOSED. */
  close(): Promise<void>;
}

export interface OpenStorageOptions {
  /** Node only: the directory holding the files (default `.synod/<name>` under the working directory). */
  readonly dir?: string;
}

/**
 * What a platform implements; `checkedStorage` wraps it with the argument checks, the closed
 * state and the copies, so that every implementation behaves alike on misuse.
 */
export interface StorageBackend {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  /** `entries` holds distinct keys, at least one. */
  putMany(entries: ReadonlyMap<string, Uint8Array>): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

// A lone surrogate has no UTF-8 form: a file name or a byte encoding would merge it with U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function checkKey(key: unknown, what = 'key'): asserts key is string {
  if (typeof key !== 'string') throw new SynodError('INVALID_ARGUMENT', `storage: ${what} must be a string, not ${describe(key)}`);
  if (LONE_SURROGATE.test(key)) throw new SynodError('INVALID_ARGUMENT', `storage: ${what} ${JSON.stringify(key)} holds a lone surrogate`);
}

function checkValue(value: unknown, key: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new SynodError('INVALID_ARGUMENT', `storage: the value of ${JSON.stringify(key)} must be a Uint8Array, not ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

/** A plain Uint8Array holding its own copy of the bytes (not a Buffer, not a view of a larger buffer). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** The smallest string greater than every string that starts with `prefix`, if there is one. */
export function prefixEnd(prefix: string): string | undefined {
  let end = prefix;
  while (end.length > 0 && end.charCodeAt(end.length - 1) === 0xffff) end = end.slice(0, -1);
  if (end.length === 0) return undefined;
  return end.slice(0, -1) + String.fromCharCode(end.charCodeAt(end.length - 1) + 1);
}

/** Code-unit order, the order of IndexedDB string keys (not localeCompare). */
export function sortKeys(keys: string[]): string[] {
  return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function checkedStorage(backend: StorageBackend): Storage {
  let closing: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();

  function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    if (closing) return Promise.reject(new SynodError('CLOSED', `storage: ${operation} after close()`));
    let result: Promise<T>;
    try {
      result = body();
    } catch (error) {
      return Promise.reject(error);
    }
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    return result;
  }

  return {
    get: (key) =>
      run('get', () => {
        checkKey(key);
        return backend.get(key);
      }),
    put: (key, value) =>
      run('put', () => {
        checkKey(key);
        checkValue(value, key);
        return backend.put(key, copyBytes(value));
      }),
    putMany: (entries) =>
      run('putMany', () => {
        if (entries === null || typeof entries !== 'object' || !(Symbol.iterator in entries)) {
          throw new SynodError('INVALID_ARGUMENT', `storage: putMany takes an iterable of [key, value] pairs, not ${describe(entries)}`);
        }
        // Every entry is checked and copied before anything is written: a bad one writes nothing.
        const batch = new Map<string, Uint8Array>();
        for (const entry of entries as Iterable<unknown>) {
          if (!Array.isArray(entry) || entry.length !== 2) {
            throw new SynodError('INVALID_ARGUMENT', `storage: putMany takes [key, value] pairs, not ${describe(entry)}`);
          }
          const [key, value] = entry as [unknown, unknown];
          checkKey(key);
          checkValue(value, key);
          batch.delete(key); // the last value of a repeated key, in its last position
          batch.set(key, copyBytes(value));
        }
        return batch.size === 0 ? Promise.resolve() : backend.putMany(batch);
      }),
    delete: (key) =>
      run('delete', () => {
        checkKey(key);
        return backend.delete(key);
      }),
    keys: (prefix = '') =>
      run('keys', () => {
        checkKey(prefix, 'prefix');
        return backend.keys(prefix);
      }),
    close() {
      closing ??= Promise.all([...inFlight]).then(() => backend.close());
      return closing;
    },
  };
}
