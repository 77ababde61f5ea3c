/**
 * The built packages, as an app gets them: the browser bundle of `synod` imports no Node module
 * (nor anything else: it is self-contained), and every package imports cleanly from its dist/ in a
 * plain Node process (dist-smoke.mjs), where `synod` runs a group over memory and over WebRTC.
 *
 * Builds first (`pnpm build`, about 20 s) when a dist/ is missing or older than the sources.
 * Sockets: the WebRTC smoke run needs loopback only (scripts/test.mjs runs tests in a namespace).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bundlePath = join(root, 'packages/synod/dist/synod.browser.min.js');
/** Gzipped bytes the browser bundle may grow to before this test asks why (36.1 KiB in the README:
 * 29.3 KiB, then about 2.6 KiB for @synod/storage and 1.5 KiB for message packing, transport
 * backpressure, the 'left' event and the joiners' patience). */
const GZIP_BUDGET_BYTES = 40 * 1024;

const PUBLIC_API = ['SynodError', 'createHub', 'createPeer', 'memory', 'memoryStorage', 'openStorage', 'signalingClient', 'webrtc'];
const NODE_ONLY = ['nodeDatachannel', 'udp', 'wrtc'];

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtimeMs(join(path, name))));
}

/** True when some package's src/ or package.json, or the build config, is newer than the last output. */
function stale(): boolean {
  if (!existsSync(bundlePath)) return true;
  const builtMs = statSync(bundlePath).mtimeMs;
  const inputs = [join(root, 'rollup.config.mjs')];
  for (const name of readdirSync(join(root, 'packages'))) {
    const dir = join(root, 'packages', name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    if (!existsSync(join(dir, 'dist'))) return true;
    inputs.push(join(dir, 'package.json'), join(dir, 'src'));
  }
  return inputs.some((input) => newestMtimeMs(input) > builtMs);
}

describe('the built packages', () => {
  before(() => {
    if (!stale()) return;
    const build = spawnSync(process.execPath, [join(root, 'node_modules/rollup/dist/bin/rollup'), '-c', 'rollup.config.mjs', '--silent'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    assert.equal(build.status, 0, `pnpm build failed:\n${build.stdout}\n${build.stderr}`);
  });

  it('the browser bundle of synod imports nothing (no node: module) and stays within its size budget', async () => {
    const code = readFileSync(bundlePath, 'utf8');
    const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s*|\brequire\s*\(\s*)["'`]([^"'`]+)["'`]/g)].map((match) => match[1]);
    assert.deepEqual(specifiers, [], 'the bundle is self-contained');
    assert.doesNotMatch(code, /["'`]node:/, 'no node: specifier anywhere');
    assert.doesNotMatch(code, /\bprocess\.(?:env|versions|on)\b/, 'no Node globals');
    const gzippedBytes = gzipSync(code, { level: 9 }).length;
    console.log(`# synod browser bundle: ${(code.length / 1024).toFixed(1)} KiB, ${(gzippedBytes / 1024).toFixed(1)} KiB gzipped`);
    assert.ok(gzippedBytes <= GZIP_BUDGET_BYTES, `${gzippedBytes} bytes gzipped, budget ${GZIP_BUDGET_BYTES}`);
    // It loads as a module and exports the public API, without the Node-only transports.
    const bundle = (await import(pathToFileURL(bundlePath).href)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(bundle).sort(), PUBLIC_API);
  });

  it('every package imports from dist/ in plain Node; synod runs a group over memory and WebRTC', { timeout: 60_000 }, () => {
    const run = spawnSync(process.execPath, [fileURLToPath(new URL('./dist-smoke.mjs', import.meta.url))], {
      cwd: root,
      // Not the test runner's flags: no `source` condition, no tsx.
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 50_000,
    });
    assert.equal(run.status, 0, `dist-smoke.mjs exited ${run.status ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
    assert.deepEqual(report['failed'], []);
    for (const entry of ['core/./dist/index.js', 'synod/./dist/index.js', 'transport-webrtc/./dist/index.js', 'signaling/./dist/server.js']) {
      assert.ok(report['imported'].includes(entry), `${entry} imported`);
    }
    assert.deepEqual(report['exports'], [...PUBLIC_API, ...NODE_ONLY].sort(), 'the Node entry of synod: the public API and the Node transports');
    assert.deepEqual(report['memory'], [2, { from: 'dist' }]);
    assert.deepEqual(report['webrtc'], [2, { from: 'dist' }]);
  });
});
