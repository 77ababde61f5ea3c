// `pnpm build`: every package of packages/* into its dist/ as ESM JavaScript (esbuild strips the
// types; one file per entry point, shared chunks beside them) with bundled type declarations
// (rollup-plugin-dts), then the minified browser bundle of `synod`, whose gzipped size it prints.
//
// Entry points come from each package.json: every `source` condition in `exports` and `imports`
// names a src/ file whose `types` and `default` siblings must be dist/<same name>.d.ts / .js.
// Imports of other packages (`@synod/*`, `ws`, `node:*`) and subpath imports (`#trace-sink`)
// stay imports, so an app's bundler still picks the browser or Node variant by condition.
//
//   pnpm build                                              every package, then the browser bundle
//   pnpm build --environment SYNOD_PACKAGES:core,peer       some packages only
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { dts } from 'rollup-plugin-dts';
import esbuild, { minify } from 'rollup-plugin-esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const tsconfig = join(root, 'tsconfig.base.json');
/** Entry points no export names: the synod-signal bin loads dist/cli.js. */
const EXTRA_ENTRIES = { signaling: { cli: './src/cli.ts' } };
export const BROWSER_BUNDLE = 'packages/synod/dist/synod.browser.min.js';

/** name → ./src/… source file, from the `source` conditions of exports and imports. */
function entriesOf(name, manifest) {
  const entries = { ...EXTRA_ENTRIES[name] };
  const visit = (target, where, into = entries) => {
    if (target === null || typeof target !== 'object') return;
    if (typeof target.source === 'string') {
      const entry = /^\.\/src\/(.+)\.ts$/.exec(target.source)?.[1];
      if (entry === undefined || target.default !== `./dist/${entry}.js` || target.types !== `./dist/${entry}.d.ts`) {
        throw new Error(`packages/${name}/package.json ${where}: source ${target.source} needs types ./dist/<name>.d.ts and default ./dist/<name>.js beside it`);
      }
      into[entry] = target.source;
    }
    for (const [condition, inner] of Object.entries(target)) visit(inner, `${where}.${condition}`, into);
  };
  visit(manifest.exports, 'exports');
  const internal = {};
  visit(manifest.imports, 'imports', internal);
  return { entries: { ...entries, ...internal }, internal: Object.keys(internal) };
}

const external = (id) => !id.startsWith('.') && !isAbsolute(id) && !id.startsWith('\0');
/** Every Synod package is `sideEffects: false`, and so are the modules it imports for their
 * exports: no bare `import '#trace-sink'` is kept just for ordering. */
const treeshake = { moduleSideEffects: (_id, isExternal) => !isExternal };

/** Empties dist/ before the package's JavaScript build (its declarations build comes after). */
const cleanDist = (dist) => ({ name: 'clean-dist', buildStart: () => rmSync(dist, { recursive: true, force: true }) });

/** Imports that do not resolve or name a missing export break the build; other warnings are
 * printed, except circular imports inside a package and, for `internal` entries (subpath imports
 * such as #trace-sink, which only the package itself imports), declarations naming a type that no
 * public entry exports. */
const FATAL = new Set(['UNRESOLVED_IMPORT', 'MISSING_EXPORT', 'MISSING_GLOBAL_NAME']);
const warnings = (internal = []) => (warning, warn) => {
  if (FATAL.has(warning.code)) throw new Error(`${warning.code}: ${warning.message}`);
  if (warning.code === 'CIRCULAR_DEPENDENCY') return;
  if (warning.code === 'PLUGIN_WARNING' && internal.some((entry) => warning.message.includes(`Entry "${entry}.d.ts"`))) return;
  warn(warning);
};

function packageConfigs(name) {
  const dir = join(root, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const { entries, internal } = entriesOf(name, manifest);
  const dist = join(dir, 'dist');
  // Browser variants (`*.browser`) are built apart from the rest, so that no chunk is shared
  // between them and Node entries: a browser entry can then only import what it imports itself.
  const groups = [false, true]
    .map((browser) => Object.fromEntries(Object.entries(entries).filter(([entry]) => entry.endsWith('.browser') === browser)))
    .filter((group) => Object.keys(group).length > 0)
    .map((group) => Object.fromEntries(Object.entries(group).map(([entry, source]) => [entry, join(dir, source)])));
  return groups.flatMap((input, index) => [
    {
      input,
      external,
      treeshake,
      onwarn: warnings(),
      plugins: [...(index === 0 ? [cleanDist(dist)] : []), esbuild({ target: 'es2022', tsconfig, sourceMap: true })],
      output: { dir: dist, format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', sourcemap: true, hoistTransitiveImports: false },
    },
    {
      input,
      external,
      onwarn: warnings(internal),
      plugins: [dts({ tsconfig, compilerOptions: { customConditions: ['source'] } })],
      output: { dir: dist, format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: '[name]-[hash].d.ts' },
    },
  ]);
}

/** The browser bundle of `synod` from the built packages, resolved as an app's bundler would. */
function browserBundleConfig() {
  return {
    input: join(root, 'packages/synod/dist/index.browser.js'),
    onwarn: warnings(),
    plugins: [
      nodeResolve({ browser: true, exportConditions: ['browser', 'module', 'import', 'default'], preferBuiltins: false }),
      minify({ target: 'es2022' }),
      {
        name: 'report-size',
        writeBundle(_options, bundle) {
          for (const chunk of Object.values(bundle)) {
            if (chunk.type !== 'chunk') continue;
            const bytes = Buffer.byteLength(chunk.code);
            const gzipped = gzipSync(chunk.code, { level: 9 }).length;
            console.log(`synod browser bundle ${chunk.fileName}: ${(bytes / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
          }
        },
      },
    ],
    output: { file: join(root, BROWSER_BUNDLE), format: 'es', sourcemap: false },
  };
}

const all = readdirSync(join(root, 'packages')).filter((name) => existsSync(join(root, 'packages', name, 'package.json')));
const chosen = process.env.SYNOD_PACKAGES ? process.env.SYNOD_PACKAGES.split(',').map((name) => basename(name.trim())) : all;
for (const name of chosen) if (!all.includes(name)) throw new Error(`no package packages/${name}`);
// Each package imports the others as externals, so their order is free; the browser bundle, which
// reads their dist/, comes last.
const configs = chosen.flatMap(packageConfigs);
if (chosen.includes('synod')) configs.push(browserBundleConfig());
export default configs;
