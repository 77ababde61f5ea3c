// Runs every bench/*.bench.ts in sequence (or those whose name contains an argument:
// `node bench/run.mjs udp`). A bench that opens sockets runs inside a fresh network namespace
// holding only `lo` (`unshare -n`, as root on Linux), so it sends nothing beyond loopback; where
// that is impossible it runs directly, with a warning.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts') && (filters.length === 0 || filters.some((f) => name.includes(f))))
  .sort();
if (files.length === 0) {
  console.error(`no bench/*.bench.ts matches ${filters.join(' ')}`);
  process.exit(2);
}

const SOCKETS = /from 'node:(dgram|net|http|https)'|@synod\/(transport-udp|transport-webrtc|signaling)/;
let namespaceWorks;
function canIsolate() {
  namespaceWorks ??=
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' }).status === 0;
  return namespaceWorks;
}

let failed = 0;
for (const name of files) {
  const path = join(here, name);
  const node = [process.execPath, '--conditions=source', '--import', 'tsx', path];
  let command = node;
  if (SOCKETS.test(readFileSync(path, 'utf8'))) {
    if (canIsolate()) command = ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', ...node];
    else console.warn(`warning: ${name} opens sockets but no loopback-only network namespace can be made (needs root on Linux); running it directly`);
  }
  console.log(`# ${name}`);
  const result = spawnSync(command[0], command.slice(1), { stdio: 'inherit', cwd: dirname(here) });
  if (result.status !== 0) {
    console.error(`# ${name} failed (${result.status ?? result.signal})`);
    failed++;
  }
}
process.exit(failed === 0 ? 0 : 1);
