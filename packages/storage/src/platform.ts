// Node's platform storage: files (files.ts). platform.browser.ts is the IndexedDB variant.
import { join } from 'node:path';
import { escapeName, fileStorage } from './files.js';
import type { OpenStorageOptions, Storage } from './storage.js';

export function openPlatformStorage(name: string, options: OpenStorageOptions): Promise<Storage> {
  return fileStorage(options.dir ?? join(process.cwd(), '.synod', escapeName(name)));
}
