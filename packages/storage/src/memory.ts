import { checkedStorage, copyBytes, sortKeys, type Storage } from './storage.js';

/** A storage in this process's memory, gone with it: for tests, the simulator and pages that keep nothing. */
export function memoryStorage(): Storage {
  const values = new Map<string, Uint8Array>();
  return checkedStorage({
    get: async (key) => {
      const value = values.get(key);
      return value === undefined ? undefined : copyBytes(value);
    },
    put: async (key, value) => {
      values.set(key, value);
    },
    putMany: async (entries) => {
      for (const [key, value] of entries) values.set(key, value);
    },
    delete: async (key) => {
      values.delete(key);
    },
    keys: async (prefix) => sortKeys([...values.keys()].filter((key) => key.startsWith(prefix))),
    close: async () => {},
  });
}
