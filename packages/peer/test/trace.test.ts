import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createHub, memory } from '@synod/transport-memory';
import { createPeer } from '../src/index.js';
import { timing } from './cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'synod-trace-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function records(path: string): { t: string; member: string }[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}

describe('JSONL trace to a file', () => {
  it('writes one JSON line per view and delivery, for every peer sharing the file', async () => {
    const path = join(dir, 'option.jsonl');
    const hub = createHub();
    const peers = await Promise.all(['a', 'b'].map((id) => createPeer({ transport: memory({ hub, id }), trace: path })));
    const first = await peers[0]!.join('traced', timing);
    await peers[1]!.join('traced', timing);
    await first.abcast('X', 1, { replies: 'all', timeoutMs: 2000 }).catch(() => undefined);
    await Promise.all(peers.map((peer) => peer.close()));
    const lines = records(path);
    assert.ok(lines.some((record) => record.t === 'view' && record.member === 'a/1'));
    assert.ok(lines.some((record) => record.t === 'view' && record.member === 'b/1'));
    assert.equal(lines.filter((record) => record.t === 'deliver').length, 2 + 2); // the request, and the 'no handler' answers
  });

  it('honours SYNOD_TRACE when no trace option is given, and trace: false over it', async () => {
    const path = join(dir, 'env.jsonl');
    const previous = process.env['SYNOD_TRACE'];
    process.env['SYNOD_TRACE'] = path;
    try {
      const hub = createHub();
      const traced = await createPeer({ transport: memory({ hub, id: 'env' }) });
      const silent = await createPeer({ transport: memory({ hub, id: 'off' }), trace: false });
      await traced.join('one', timing);
      await silent.join('two', timing);
      await Promise.all([traced.close(), silent.close()]);
      assert.deepEqual(
        records(path).map((record) => [record.t, record.member]),
        [['view', 'env/1']],
      );
    } finally {
      if (previous === undefined) delete process.env['SYNOD_TRACE'];
      else process.env['SYNOD_TRACE'] = previous;
    }
  });

  it('refuses a trace file it cannot open', async () => {
    await assert.rejects(createPeer({ transport: memory({ hub: createHub() }), trace: join(dir, 'no', 'such', 'dir.jsonl') }), {
      code: 'INVALID_ARGUMENT',
    });
  });
});
