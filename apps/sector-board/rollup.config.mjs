// The sector board's browser bundle, from the workspace's TypeScript sources (the `source`
// condition), as an app's bundler would resolve them for a browser.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild from 'rollup-plugin-esbuild';

export default {
  input: 'src/ui/app.ts',
  plugins: [
    nodeResolve({ browser: true, exportConditions: ['browser', 'source', 'module', 'import', 'default'], extensions: ['.ts', '.js'], preferBuiltins: false }),
    esbuild({ target: 'es2022', minify: true, sourceMap: true }),
  ],
  output: { file: 'dist/app.js', format: 'es', sourcemap: true },
  onwarn(warning, warn) {
    if (warning.code === 'CIRCULAR_DEPENDENCY') return;
    warn(warning);
  },
};
