#!/usr/bin/env node
// The built CLI when the package is built; in the workspace (no build yet), the TypeScript source
// through tsx, resolving workspace packages by their "source" export condition.
import { register } from 'node:module';

let cli;
try {
  cli = await import('../dist/cli.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli.js')) throw error;
  const tsx = await import('tsx/esm/api');
  tsx.register();
  const addSource = `export function resolve(specifier, context, next) {
    return next(specifier, { ...context, conditions: [...new Set([...context.conditions, 'source'])] });
  }`;
  register(`data:text/javascript,${encodeURIComponent(addSource)}`);
  cli = await import('../src/cli.ts');
}
await cli.main(process.argv.slice(2));
