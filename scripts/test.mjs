// Runs every Node test file of the workspace with node's own test runner (tsx for TypeScript).
// Browser and multi-process suites (e2e/) join this list when they exist.
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

const unitOnly = process.argv.includes('--unit-only');
const typecheck = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], {
  stdio: 'inherit',
});
if (typecheck.status !== 0) {
  console.error('typecheck failed');
  process.exit(typecheck.status ?? 1);
}
const files = ['packages', 'apps']
  .flatMap((root) => {
    try {
      return walk(root, []);
    } catch {
      return [];
    }
  })
  .filter((f) => !unitOnly || !f.endsWith('.sim.test.ts'))
  .sort();
const result = spawnSync(
  process.execPath,
  ['--conditions=source', '--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
