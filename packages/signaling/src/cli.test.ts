import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { signalingClient } from './index.js';

const bin = fileURLToPath(new URL('../bin/synod-signal.js', import.meta.url));

describe('synod-signal', () => {
  it('serves rooms on the port it is given and stops cleanly on SIGTERM', { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, [bin, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let output = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => (output += chunk));
      while (!/listening on (\S+)/.test(output)) {
        if (child.exitCode !== null) assert.fail(`synod-signal exited: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const url = /listening on (\S+)/.exec(output)![1]!;
      assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/);
      const a = signalingClient(url, 'g', { id: 'a', reconnect: false });
      const b = signalingClient(url, 'g', { id: 'b', reconnect: false });
      await Promise.all([a.ready(), b.ready()]);
      const got = new Promise((resolve) => b.on('signal', (from, data) => resolve([from, data])));
      a.signal('b', 'hello');
      assert.deepEqual(await got, ['a', 'hello']);
      await Promise.all([a.close(), b.close()]);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0);
      assert.match(output, /stopped \{"accepted":2,"relayed":1,/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses bad arguments with exit code 2', { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, [bin, '--port', 'eighty'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk) => (errors += chunk));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(errors, /--port takes a non-negative integer/);
  });
});
