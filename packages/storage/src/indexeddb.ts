/**
 * Browser storage: one IndexedDB database per name (`synod:<name>`), one object store of
 * Uint8Array values under string keys, through the `idb` wrapper.
 *
 * Every write is one readwrite transaction, so putMany is all or nothing by IndexedDB's own
 * guarantee (a transaction that does not commit, because the page closed or a request failed,
 * leaves nothing). Write transactions ask for `durability: 'strict'`: a relaxed commit may be
 * reported before it reaches the disk, and put promises durability when it resolves. Transactions
 * on one store run in the order they were created, which keeps calls in order.
 */
import { SynodError } from '@synod/core';
import { openDB, type IDBPDatabase } from 'idb';
import { checkedStorage, prefixEnd, type Storage } from './storage.js';

const STORE = 'entries';
const DATABASE_PREFIX = 'synod:';

function asBytes(value: unknown): Uint8Array | undefined {
  if (value === undefined || value instanceof Uint8Array) return value;
  throw new Error('storage: IndexedDB holds a value that is not a Uint8Array');
}

export async function indexedDbStorage(name: string): Promise<Storage> {
  if (typeof indexedDB === 'undefined') throw new SynodError('INVALID_ARGUMENT', 'storage: this platform has no IndexedDB');
  const db: IDBPDatabase = await openDB(`${DATABASE_PREFIX}${name}`, 1, {
    upgrade(database) {
      database.createObjectStore(STORE);
    },
    // Another page opening a newer version of this database: let it, rather than block it.
    blocking() {
      db.close();
    },
  });
  const write = () => db.transaction(STORE, 'readwrite', { durability: 'strict' });
  return checkedStorage({
    get: async (key) => asBytes(await db.get(STORE, key)),
    put: async (key, value) => {
      const transaction = write();
      await Promise.all([transaction.store.put(value, key), transaction.done]);
    },
    putMany: async (entries) => {
      const transaction = write();
      await Promise.all([...[...entries].map(([key, value]) => transaction.store.put(value, key)), transaction.done]);
    },
    delete: async (key) => {
      const transaction = write();
      await Promise.all([transaction.store.delete(key), transaction.done]);
    },
    keys: async (prefix) => {
      const end = prefixEnd(prefix);
      const range = end === undefined ? IDBKeyRange.lowerBound(prefix) : IDBKeyRange.bound(prefix, end, false, true);
      return (await db.getAllKeys(STORE, range)).map(String);
    },
    close: async () => db.close(),
  });
}
