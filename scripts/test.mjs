// Runs every Node test file of the workspace with node's own test runner (tsx for TypeScript):
// first the unit, integration and simulation tests of packages/ and apps/, then the multi-process
// suites of e2e/ in a separate run. Browser suites join e2e/ when they exist.
//
// Tests that open sockets must send nothing beyond loopback, so both runs go inside a fresh network
// namespace holding only `lo` (`unshare -n`, as root on Linux). Where that is impossible, they run
// directly, with a warning.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.test\.ts$/.test(name)) out.push(path);
  }
  return out;
}

function testFiles(roots) {
  return roots
    .flatMap((root) => {
      try {
        return walk(root, []);
      } catch {
        return [];
      }
    })
    .sort();
}

/** `command` inside a network namespace with only loopback up, when this machine allows it. */
function isolated(command) {
  const isRoot = process.platform === 'linux' && process.getuid?.() === 0;
  if (isRoot) {
    const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' });
    if (probe.status === 0) return ['unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', ...command]];
  }
  console.warn(
    'warning: cannot make a loopback-only network namespace (needs root on Linux with unshare and ip); ' +
      'socket tests run in the host network namespace',
  );
  return [command[0], command.slice(1)];
}

function run(label, files) {
  if (files.length === 0) return 0;
  console.log(`\n# ${label}: ${files.length} files`);
  const [command, args] = isolated([process.execPath, '--conditions=source', '--import', 'tsx', '--test', '--test-reporter=spec', ...files]);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  return result.status ?? 1;
}

const unitOnly = process.argv.includes('--unit-only');
const typecheck = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], {
  stdio: 'inherit',
});
if (typecheck.status !== 0) {
  console.error('typecheck failed');
  process.exit(typecheck.status ?? 1);
}
const unitStatus = run(
  'unit, integration and simulation tests',
  testFiles(['packages', 'apps']).filter((f) => !unitOnly || !f.endsWith('.sim.test.ts')),
);
const e2eStatus = unitOnly ? 0 : run('multi-process tests (e2e)', testFiles(['e2e']));
process.exit(unitStatus !== 0 ? unitStatus : e2eStatus);
