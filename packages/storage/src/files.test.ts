import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SynodError } from '@synod/core';
import { AWKWARD_KEYS } from './compliance.js';
import { encodeJournal, fileNameOf, fileStorage } from './files.js';
import { openStorage } from './index.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'synod-files-'));
});
after(() => rm(root, { recursive: true, force: true }));

const bytes = (...values: number[]) => new Uint8Array(values);
const isCode = (code: string) => (error: unknown) => error instanceof SynodError && error.code === code;

describe('file storage', () => {
  it('keeps every key inside its directory, in names of [a-z0-9_~-] only', async () => {
    const dir = join(root, 'inside', 'store');
    const storage = await fileStorage(dir);
    for (const key of AWKWARD_KEYS) await storage.put(key, bytes(1));
    await storage.close();
    assert.deepEqual(await readdir(join(root, 'inside')), ['store']);
    const names = await readdir(dir);
    assert.equal(names.length, AWKWARD_KEYS.length);
    for (const name of names) assert.match(name, /^(k[a-z0-9_~-]{0,199}|h[0-9a-f]{64})$/);
    assert.equal(fileNameOf('../x'), 'k~2e~2e~2fx');
    assert.equal(fileNameOf('A'), 'k~41');
    assert.notEqual(fileNameOf('A'), fileNameOf('~41'));
  });

  it('replays a committed journal found on open (a crash after the commit point), then removes it', async () => {
    const dir = join(root, 'journal');
    const storage = await fileStorage(dir);
    await storage.putMany([['a', bytes(1)], ['b', bytes(1)]]);
    await storage.close();
    // As a crash after the journal's rename leaves it: the journal and some entries not yet applied.
    await writeFile(join(dir, 'journal'), encodeJournal(new Map([['a', bytes(2)], ['b', bytes(2)], ['c', bytes(2)]])));
    await writeFile(join(dir, 'tmp-999-1'), bytes(0xff));
    const reopened = await fileStorage(dir);
    assert.deepEqual(await reopened.get('a'), bytes(2));
    assert.deepEqual(await reopened.get('b'), bytes(2));
    assert.deepEqual(await reopened.get('c'), bytes(2));
    await reopened.close();
    assert.deepEqual((await readdir(dir)).sort(), ['ka', 'kb', 'kc']);
  });

  it('drops temp files found on open (a crash before a rename): the old values stay', async () => {
    const dir = join(root, 'temps');
    const storage = await fileStorage(dir);
    await storage.put('a', bytes(1));
    await storage.close();
    await writeFile(join(dir, 'tmp-999-2'), encodeJournal(new Map([['a', bytes(2)]])));
    const reopened = await fileStorage(dir);
    assert.deepEqual(await reopened.get('a'), bytes(1));
    assert.deepEqual(await reopened.keys(), ['a']);
    await reopened.close();
    assert.deepEqual(await readdir(dir), ['ka']);
  });

  it('refuses to open over a malformed journal rather than lose a batch silently', async () => {
    const dir = join(root, 'malformed');
    await (await fileStorage(dir)).close();
    await writeFile(join(dir, 'journal'), bytes(1, 2, 3));
    await assert.rejects(fileStorage(dir), /not a Synod storage journal/);
    await rm(join(dir, 'journal'));
    await (await fileStorage(dir)).close();
  });

  it('opens a directory once per process at a time', async () => {
    const dir = join(root, 'once');
    const first = await fileStorage(dir);
    await assert.rejects(fileStorage(dir), isCode('INVALID_ARGUMENT'));
    await first.close();
    await (await fileStorage(dir)).close();
  });

  it('openStorage(name) defaults to .synod/<name> under the working directory; checks its arguments', async () => {
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const storage = await openStorage('My App/../x');
      await storage.put('k', bytes(1));
      await storage.close();
      assert.deepEqual(await readdir(join(root, '.synod')), ['~4dy~20~41pp~2f~2e~2e~2fx']);
    } finally {
      process.chdir(cwd);
    }
    await assert.rejects(openStorage(''), isCode('INVALID_ARGUMENT'));
    await assert.rejects(openStorage(42 as unknown as string), isCode('INVALID_ARGUMENT'));
    await assert.rejects(openStorage('x', { dir: 7 as unknown as string }), isCode('INVALID_ARGUMENT'));
  });
});
