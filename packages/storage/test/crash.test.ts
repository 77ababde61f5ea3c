/**
 * Crash atomicity of the Node file storage, for real: a child process writes batches (putMany) and
 * single large values in a loop and is SIGKILLed at a random moment; the directory, reopened, must
 * hold for every batch key the same generation (the last the child saw resolve, or the one in
 * flight) and no torn value. Each kill is aimed at a random moment of a batch. SIGKILL stops the
 * process between any two system calls; it does not simulate a power loss (the page cache
 * survives), which the fsyncs are there for.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStorage } from '@synod/storage';
import { BATCH_KEYS, BATCH_VALUE_BYTES, generationOf, SINGLE_VALUE_BYTES } from './crash-writer.js';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const ROUNDS = 12;

let root = '';
after(() => rm(root, { recursive: true, force: true }));

/**
 * Runs the writer for `batches` batches, then SIGKILLs it at a random moment within the next one:
 * up to 1.2 times the last batch's duration after it starts, so kills land on both sides of its
 * commit point and sometimes in the single put after it.
 */
async function runAndKill(dir: string, batches: number): Promise<{ batch: number; single: number }> {
  const child = fork(WRITER, [dir], { execArgv: ['--conditions=source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const seen = { batch: 0, single: 0 };
  let completed = 0;
  let startedAtMs = 0;
  let batchMs = 0;
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { starting?: number; batch?: number; single?: number }) => {
      if (message.starting !== undefined) {
        startedAtMs = performance.now();
        if (completed === batches) setTimeout(() => child.kill('SIGKILL'), Math.random() * 1.2 * batchMs);
      }
      if (message.batch !== undefined) {
        seen.batch = message.batch;
        batchMs = performance.now() - startedAtMs;
        completed++;
      }
      if (message.single !== undefined) seen.single = message.single;
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited by itself (${signal ?? code})`))));
  });
  return seen;
}

it(`putMany and put survive ${ROUNDS} SIGKILLs at random moments: old or new, never torn or mixed`, { timeout: 120_000 }, async () => {
  root = await mkdtemp(join(tmpdir(), 'synod-crash-'));
  const dir = join(root, 'store');
  let withJournal = 0;
  let withTemps = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const seen = await runAndKill(dir, 1 + (round % 3));
    const left = await readdir(dir);
    if (left.includes('journal')) withJournal++; // killed after a batch's commit point: replayed
    else if (left.some((name) => name.startsWith('tmp-'))) withTemps++; // killed before a rename: dropped

    const storage = await openStorage('crash', { dir });
    const generations = new Set<number>();
    for (const key of BATCH_KEYS) {
      const value = await storage.get(key);
      assert.ok(value, `${key} present after round ${round}`);
      generations.add(generationOf(value, BATCH_VALUE_BYTES));
    }
    assert.equal(generations.size, 1, `round ${round}: one generation across the batch, got ${[...generations]}`);
    const [generation] = generations;
    assert.ok(generation === seen.batch || generation === seen.batch + 1, `round ${round}: batch generation ${generation}, last resolved ${seen.batch}`);
    const single = await storage.get('single');
    if (single) {
      const singleGeneration = generationOf(single, SINGLE_VALUE_BYTES);
      assert.ok(singleGeneration === seen.single || singleGeneration === seen.single + 1, `round ${round}: single ${singleGeneration}, last resolved ${seen.single}`);
    } else assert.equal(seen.single, 0);
    assert.deepEqual((await storage.keys()).sort(), [...BATCH_KEYS, ...(single ? ['single'] : [])].sort());
    await storage.close();
    assert.deepEqual((await readdir(dir)).filter((name) => !/^k[a-z0-9_~-]+$/.test(name)), [], 'recovery left no journal or temp file');
  }
  console.log(`# ${ROUNDS} kills: ${withJournal} left a committed journal to replay, ${withTemps} only temp files to drop`);
  assert.ok(withJournal + withTemps > 0, 'at least one kill landed in the middle of a write');
});
