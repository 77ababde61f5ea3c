/**
 * The compliance suite every Storage passes: memory, Node files, and IndexedDB in a real browser.
 * It needs no test runner (browsers have no node:test): it yields named cases that throw on failure.
 *
 *   import { storageCompliance } from '@synod/storage/compliance';
 *   for (const { name, run } of storageCompliance({ create: async () => memoryStorage() })) it(name, run);
 */
import { SynodError, type SynodErrorCode } from '@synod/core';
import type { Storage } from './storage.js';

export interface StorageFactory {
  /** A new, empty storage. */
  create(): Promise<Storage>;
  /** Opens again the storage that create() returned last, after it was closed; only for kinds that persist. */
  reopen?(): Promise<Storage>;
}

export interface ComplianceCase {
  readonly name: string;
  run(): Promise<void>;
}

/** Keys that a file name or a database could get wrong: traversal, separators, case, escapes, Unicode, length. */
export const AWKWARD_KEYS: readonly string[] = [
  '',
  '.',
  '..',
  '../x',
  '../../etc/passwd',
  '/abs/path',
  'a/b',
  'a\\b',
  'A',
  'a',
  '~41',
  'k',
  'journal',
  'tmp-1-1',
  'CON',
  'nul.txt',
  'with space',
  'nul\0byte',
  'ünïcödé',
  '航空',
  '🛩️',
  '\uffff',
  'x'.repeat(100),
  '/'.repeat(100),
  'é'.repeat(500),
];

function fail(message: string): never {
  throw new Error(message);
}

function check(condition: boolean, message: string): void {
  if (!condition) fail(message);
}

function same(actual: unknown, expected: unknown, what: string): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  check(actual instanceof Uint8Array, `${what}: expected a Uint8Array, got ${String(actual)}`);
  check(actual!.length === expected.length && actual!.every((byte, i) => byte === expected[i]), `${what}: bytes differ`);
}

async function rejects(promise: Promise<unknown>, code: SynodErrorCode, what: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    check(error instanceof SynodError, `${what}: expected a SynodError, got ${String(error)}`);
    same((error as SynodError).code, code, `${what}: error code`);
    return;
  }
  fail(`${what}: expected a rejection with ${code}`);
}

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (value: string) => new TextEncoder().encode(value);
const codeUnitOrder = (keys: readonly string[]) => [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function storageCompliance(factory: StorageFactory): ComplianceCase[] {
  /** Runs `body` on a new storage and closes it after, even when the case fails. */
  const withStorage = (body: (storage: Storage) => Promise<void>) => async () => {
    const storage = await factory.create();
    try {
      await body(storage);
    } finally {
      await storage.close();
    }
  };

  const cases: ComplianceCase[] = [
    {
      name: 'get of a missing key is undefined; put then get returns the bytes; put overwrites',
      run: withStorage(async (storage) => {
        same(await storage.get('missing'), undefined, 'missing key');
        await storage.put('k1', bytes(1, 2, 3));
        sameBytes(await storage.get('k1'), bytes(1, 2, 3), 'after put');
        await storage.put('k1', bytes(9));
        sameBytes(await storage.get('k1'), bytes(9), 'after overwrite');
      }),
    },
    {
      name: 'empty, large and subarray values round-trip; values are copied in and out',
      run: withStorage(async (storage) => {
        await storage.put('empty', new Uint8Array(0));
        sameBytes(await storage.get('empty'), new Uint8Array(0), 'empty value');
        const large = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
        await storage.put('large', large);
        sameBytes(await storage.get('large'), large, '1 MiB value');
        const backing = bytes(0, 1, 2, 3, 4, 5);
        await storage.put('view', backing.subarray(2, 4));
        sameBytes(await storage.get('view'), bytes(2, 3), 'a subarray stores only its own bytes');
        const written = bytes(5, 5);
        await storage.put('owned', written);
        written[0] = 0;
        const read = await storage.get('owned');
        sameBytes(read, bytes(5, 5), 'mutating the array given to put');
        read![1] = 0;
        sameBytes(await storage.get('owned'), bytes(5, 5), 'mutating the array get returned');
      }),
    },
    {
      name: 'delete removes a key; deleting a missing key does nothing',
      run: withStorage(async (storage) => {
        await storage.put('gone', bytes(1));
        await storage.delete('gone');
        same(await storage.get('gone'), undefined, 'after delete');
        same(await storage.keys(), [], 'keys after delete');
        await storage.delete('never-there');
      }),
    },
    {
      name: 'awkward keys (traversal, separators, case, escapes, Unicode, long) stay distinct and round-trip',
      run: withStorage(async (storage) => {
        for (const [i, key] of AWKWARD_KEYS.entries()) await storage.put(key, bytes(i));
        for (const [i, key] of AWKWARD_KEYS.entries()) sameBytes(await storage.get(key), bytes(i), `key ${JSON.stringify(key).slice(0, 40)}`);
        same(await storage.keys(), codeUnitOrder(AWKWARD_KEYS), 'keys()');
      }),
    },
    {
      name: 'keys are sorted by code unit; keys(prefix) lists exactly the keys with that prefix',
      run: withStorage(async (storage) => {
        const all = ['b', 'a', 'ab', 'a/1', 'a/2', 'a/10', 'aa', 'B', 'é', 'z\uffff', 'z\uffff\uffff', 'z\uffffa', '{'];
        for (const key of all) await storage.put(key, bytes(1));
        same(await storage.keys(), codeUnitOrder(all), 'keys()');
        same(await storage.keys(''), codeUnitOrder(all), "keys('')");
        same(await storage.keys('a'), ['a', 'a/1', 'a/10', 'a/2', 'aa', 'ab'], "keys('a')");
        same(await storage.keys('a/'), ['a/1', 'a/10', 'a/2'], "keys('a/')");
        same(await storage.keys('a/1'), ['a/1', 'a/10'], "keys('a/1')");
        same(await storage.keys('z\uffff'), ['z\uffff', 'z\uffffa', 'z\uffff\uffff'], "keys('z\\uffff')");
        same(await storage.keys('c'), [], "keys('c')");
      }),
    },
    {
      name: 'putMany stores every entry; a repeated key keeps its last value; an empty batch does nothing',
      run: withStorage(async (storage) => {
        await storage.put('old', bytes(0));
        await storage.putMany([
          ['m/1', bytes(1)],
          ['m/2', bytes(2)],
          ['old', bytes(3)],
          ['m/1', bytes(4)],
        ]);
        sameBytes(await storage.get('m/1'), bytes(4), 'repeated key');
        sameBytes(await storage.get('m/2'), bytes(2), 'm/2');
        sameBytes(await storage.get('old'), bytes(3), 'overwritten by the batch');
        await storage.putMany([]);
        same(await storage.keys(), ['m/1', 'm/2', 'old'], 'keys()');
        await storage.putMany(new Map([['from-map', text('map')]]));
        sameBytes(await storage.get('from-map'), text('map'), 'a Map as the batch');
      }),
    },
    {
      name: 'putMany with one bad entry rejects with INVALID_ARGUMENT and writes nothing',
      run: withStorage(async (storage) => {
        await storage.put('b/1', bytes(1));
        const batch = [
          ['b/1', bytes(2)],
          ['b/2', bytes(2)],
          ['b/3', 'not bytes'],
        ] as unknown as [string, Uint8Array][];
        await rejects(storage.putMany(batch), 'INVALID_ARGUMENT', 'a string value');
        await rejects(storage.putMany([['b/2', bytes(2)], [7 as unknown as string, bytes(2)]]), 'INVALID_ARGUMENT', 'a number key');
        await rejects(storage.putMany([['b/2', bytes(2)], ['b/3'] as unknown as [string, Uint8Array]]), 'INVALID_ARGUMENT', 'a pair without a value');
        await rejects(storage.putMany(42 as unknown as []), 'INVALID_ARGUMENT', 'not an iterable');
        sameBytes(await storage.get('b/1'), bytes(1), 'b/1 unchanged');
        same(await storage.keys(), ['b/1'], 'nothing written');
      }),
    },
    {
      name: 'misuse rejects with SynodError INVALID_ARGUMENT',
      run: withStorage(async (storage) => {
        const any = storage as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
        await rejects(any['get']!(42), 'INVALID_ARGUMENT', 'get(42)');
        await rejects(any['get']!(undefined), 'INVALID_ARGUMENT', 'get(undefined)');
        await rejects(any['put']!('k', 'text'), 'INVALID_ARGUMENT', "put('k', 'text')");
        await rejects(any['put']!('k', [1, 2]), 'INVALID_ARGUMENT', "put('k', [1, 2])");
        await rejects(any['put']!('k', new ArrayBuffer(2)), 'INVALID_ARGUMENT', "put('k', ArrayBuffer)");
        await rejects(any['put']!({ toString: () => 'k' }, bytes(1)), 'INVALID_ARGUMENT', 'put(object key)');
        await rejects(storage.put('\ud800', bytes(1)), 'INVALID_ARGUMENT', 'a lone surrogate');
        await rejects(any['delete']!(null), 'INVALID_ARGUMENT', 'delete(null)');
        await rejects(any['keys']!(5), 'INVALID_ARGUMENT', 'keys(5)');
        same(await storage.keys(), [], 'nothing written');
      }),
    },
    {
      name: 'operations take effect in call order, without awaiting each',
      run: withStorage(async (storage) => {
        const calls: Promise<unknown>[] = [];
        for (let i = 0; i < 20; i++) calls.push(storage.put('order', bytes(i)));
        calls.push(storage.putMany([['order', bytes(100)], ['order/x', bytes(1)]]));
        calls.push(storage.delete('order/x'));
        const read = storage.get('order');
        await Promise.all(calls);
        sameBytes(await read, bytes(100), 'the read after the writes sees the last');
        same(await storage.keys('order'), ['order'], 'the delete after the batch won');
      }),
    },
    {
      name: 'close waits for operations already called; afterwards every method rejects with CLOSED; close twice is fine',
      run: async () => {
        const storage = await factory.create();
        const pending = storage.put('late', bytes(7));
        await storage.close();
        await pending;
        await rejects(storage.get('late'), 'CLOSED', 'get after close');
        await rejects(storage.put('k', bytes(1)), 'CLOSED', 'put after close');
        await rejects(storage.putMany([['k', bytes(1)]]), 'CLOSED', 'putMany after close');
        await rejects(storage.delete('k'), 'CLOSED', 'delete after close');
        await rejects(storage.keys(), 'CLOSED', 'keys after close');
        await storage.close();
        if (factory.reopen) {
          const again = await factory.reopen();
          try {
            sameBytes(await again.get('late'), bytes(7), 'the put called before close, after reopening');
          } finally {
            await again.close();
          }
        }
      },
    },
  ];

  const reopen = factory.reopen;
  if (reopen) {
    cases.push({
      name: 'everything written survives close and reopen',
      run: async () => {
        const first = await factory.create();
        await first.put('kept', text('kept'));
        await first.putMany(AWKWARD_KEYS.map((key, i) => [`batch/${key}`, bytes(i)]));
        await first.put('deleted', bytes(1));
        await first.delete('deleted');
        await first.close();
        const second = await reopen();
        try {
          sameBytes(await second.get('kept'), text('kept'), 'kept');
          same(await second.get('deleted'), undefined, 'deleted');
          same(await second.keys('batch/'), codeUnitOrder(AWKWARD_KEYS.map((key) => `batch/${key}`)), "keys('batch/')");
          for (const [i, key] of AWKWARD_KEYS.entries()) sameBytes(await second.get(`batch/${key}`), bytes(i), `batch/${key.slice(0, 40)}`);
        } finally {
          await second.close();
        }
      },
    });
  }
  return cases;
}
