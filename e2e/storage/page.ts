// The storage test page's script (bundled for the browser by e2e/storage.test.ts): IndexedDB
// through @synod/storage's browser variant, and the shared compliance suite.
import { openStorage, type Storage } from '@synod/storage';
import { storageCompliance } from '@synod/storage/compliance';

let opened = 0;
let lastName = '';
const cases = storageCompliance({
  create: () => openStorage((lastName = `compliance-${Date.now()}-${++opened}`)),
  reopen: () => openStorage(lastName),
});

/** One compliance case by name: null when it passes, else the failure's message. */
async function runCase(name: string): Promise<string | null> {
  const found = cases.find((entry) => entry.name === name);
  if (!found) return `no case ${JSON.stringify(name)}`;
  try {
    await found.run();
    return null;
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads every key under `prefix` as text. */
async function readAll(name: string, prefix = ''): Promise<Record<string, string>> {
  const storage = await openStorage(name);
  try {
    const out: Record<string, string> = {};
    for (const key of await storage.keys(prefix)) out[key] = decoder.decode(await storage.get(key));
    return out;
  } finally {
    await storage.close();
  }
}

let batchStorage: Storage | undefined;
/** Starts a putMany of `count` values of `bytes` each, all holding `generation`, and does not wait for it. */
async function startBatch(name: string, generation: number, count: number, bytes: number): Promise<void> {
  batchStorage ??= await openStorage(name);
  const value = (key: number) => encoder.encode(`${generation}:${key}:`.padEnd(bytes, String(generation % 10)));
  void batchStorage.putMany(Array.from({ length: count }, (_, key) => [`batch/${String(key).padStart(3, '0')}`, value(key)]));
}

(globalThis as { storageTest?: unknown }).storageTest = {
  runCase,
  readAll,
  startBatch,
  async write(name: string, entries: Record<string, string>, deleted: string[]) {
    const storage = await openStorage(name);
    await storage.put('single', encoder.encode('one value'));
    await storage.putMany(Object.entries(entries).map(([key, value]) => [key, encoder.encode(value)]));
    for (const key of deleted) await storage.delete(key);
    await storage.close();
  },
};
document.title = 'storage-ready';
