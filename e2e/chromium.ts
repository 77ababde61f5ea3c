/**
 * Debian's headless Chromium for the browser suites (installed by scripts/setup.sh); Playwright
 * never downloads one. It gathers ICE candidates on loopback only with
 * --allow-loopback-in-peer-connection, and shows real host addresses (not mDNS names) only to a
 * page granted camera and microphone.
 */
import { build } from 'esbuild';
import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
];

/** `extraArgs` add to CHROMIUM_ARGS (the browser benchmark keeps background pages unthrottled). */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 30_000 });
}

/** A page script bundled for the browser from the workspace's sources; asserts it imports no Node module. */
export async function bundlePage(entry: string): Promise<Uint8Array> {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['source'],
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'error',
  });
  const script = bundle.outputFiles[0]!.contents;
  if (/["']node:/.test(Buffer.from(script).toString())) throw new Error(`the page bundle of ${entry} imports a Node module`);
  return script;
}

/** Serves a page that loads `script` (as /page.js) on a loopback port; `url` ends with '/'. */
export async function servePage(script: Uint8Array): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    if (request.url === '/page.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>loading</title><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/` };
}
