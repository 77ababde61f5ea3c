#!/usr/bin/env node
// In the workspace (the TypeScript source is here), run the source through tsx, resolving
// workspace packages by their "source" export condition, so a stale or half-built dist/ never
// runs; an installed package runs its built dist/.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

let cli;
if (existsSync(new URL('../src/cli.ts', import.meta.url))) {
  const tsx = await import('tsx/esm/api');
  tsx.register();
  const addSource = `export function resolve(specifier, context, next) {
    return next(specifier, { ...context, conditions: [...new Set([...context.conditions, 'source'])] });
  }`;
  register(`data:text/javascript,${encodeURIComponent(addSource)}`);
  cli = await import('../src/cli.ts');
} else {
  cli = await import('../dist/cli.js');
}
await cli.main(process.argv.slice(2));
