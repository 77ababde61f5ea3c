/**
 * Persistence for Synod: a small durable map of string keys to bytes, used by group checkpoints,
 * replicated data and shared regions so that a reloaded page or a restarted process recovers its
 * state. `openStorage` picks the platform's: IndexedDB in browsers (the `browser` condition),
 * files under a directory in Node; `memoryStorage` keeps nothing beyond the process.
 */
import { SynodError } from '@synod/core';
import { openPlatformStorage } from '#platform-storage';
import { checkKey, type OpenStorageOptions, type Storage } from './storage.js';

export { memoryStorage } from './memory.js';
export type { OpenStorageOptions, Storage } from './storage.js';

/** Opens (creating if needed) the storage called `name`, recovered from any crash of its last user. */
export function openStorage(name: string, options: OpenStorageOptions = {}): Promise<Storage> {
  try {
    checkKey(name, 'name');
    if (name === '') throw new SynodError('INVALID_ARGUMENT', 'storage: name must not be empty');
    if (options === null || typeof options !== 'object') throw new SynodError('INVALID_ARGUMENT', 'storage: options must be an object');
  } catch (error) {
    return Promise.reject(error);
  }
  return openPlatformStorage(name, options);
}
