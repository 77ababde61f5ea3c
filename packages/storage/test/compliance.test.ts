// The shared compliance suite on the Node kinds; e2e/storage.test.ts runs it on IndexedDB in Chromium.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { storageCompliance } from '@synod/storage/compliance';
import { memoryStorage, openStorage } from '@synod/storage';

describe('memoryStorage', () => {
  for (const { name, run } of storageCompliance({ create: async () => memoryStorage() })) it(name, run);
});

describe('openStorage in Node (files)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'synod-storage-'));
  after(() => rm(root, { recursive: true, force: true }));
  let count = 0;
  let last = '';
  const factory = {
    create: () => openStorage('compliance', { dir: (last = join(root, `store-${++count}`)) }),
    reopen: () => openStorage('compliance', { dir: last }),
  };
  for (const { name, run } of storageCompliance(factory)) it(name, run);
});
