// Run by package.test.ts with a plain `node` — no `source` condition, no tsx — so every import below
// resolves as in an app that installed the packages: to dist/. Imports every built entry point of
// every package, then runs a group through `synod` over the memory transport and over WebRTC (the
// Node default, node-datachannel) with a real signaling server. Prints one JSON line; must exit by
// itself (a transport that keeps the process alive fails the test).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
const timing = { heartbeatMs: 50, suspectAfterMs: 2000, discoveryMs: 100 };
const report = { imported: [], failed: [], exports: [], memory: [], webrtc: [] };
const step = (what) => process.stderr.write(`dist-smoke: ${what}\n`);

/** Every file an `exports` or `imports` map points at by its `default` (or only) target. */
function targetsOf(map, out = new Set()) {
  if (typeof map === 'string') out.add(map);
  else if (map && typeof map === 'object') {
    for (const [condition, inner] of Object.entries(map)) if (condition !== 'source' && condition !== 'types') targetsOf(inner, out);
  }
  return out;
}

step('importing every built entry point');
for (const name of readdirSync(packagesDir).sort()) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(packagesDir, name, 'package.json'), 'utf8'));
  } catch {
    continue;
  }
  for (const target of [...targetsOf(manifest.exports), ...targetsOf(manifest.imports)]) {
    const file = join(packagesDir, name, target);
    try {
      await import(pathToFileURL(file).href);
      report.imported.push(`${name}/${target}`);
    } catch (error) {
      report.failed.push(`${name}/${target}: ${error?.message ?? error}`);
    }
  }
}

const synod = await import('synod');
report.exports = Object.keys(synod).sort();

async function exchange(name, makeTransport, into) {
  step(`${name}: first peer joins`);
  const first = await synod.createPeer({ transport: makeTransport(), trace: false });
  const firstGroup = await first.join('smoke', timing);
  step(`${name}: second peer waits for a link to the first`);
  const second = await synod.createPeer({ transport: makeTransport(), trace: false });
  // Joining with no live contact founds a second group; a first WebRTC link attempt can fail (the
  // transport mends it), so wait for the link as an app waits for a contact.
  while (!second.transport.peers().includes(first.id)) await new Promise((resolve) => setTimeout(resolve, 20));
  step(`${name}: second peer joins`);
  const secondGroup = await second.join('smoke', timing);
  step(`${name}: abcast`);
  const delivered = new Promise((resolve) => secondGroup.handle('HELLO', (message) => resolve(message.data)));
  await firstGroup.abcast('HELLO', { from: 'dist' });
  into.push(secondGroup.view.members.length, await delivered);
  await second.close();
  await first.close();
}

const hub = synod.createHub();
await exchange('memory', () => synod.memory({ hub }), report.memory);

const { startSignalingServer } = await import('@synod/signaling/server');
const server = await startSignalingServer({ port: 0, host: '127.0.0.1' });
try {
  await exchange('webrtc', () => synod.webrtc({ signaling: server.url, room: 'dist-smoke' }), report.webrtc);
} finally {
  await server.close();
}
console.log(JSON.stringify(report));
