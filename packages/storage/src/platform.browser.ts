// The browser's platform storage: IndexedDB (indexeddb.ts). platform.ts is the Node variant.
import { indexedDbStorage } from './indexeddb.js';
import type { OpenStorageOptions, Storage } from './storage.js';

export function openPlatformStorage(name: string, _options: OpenStorageOptions): Promise<Storage> {
  return indexedDbStorage(name);
}
