/**
 * `pnpm demo`: the whole sector board on this machine. Starts a signaling server, builds the
 * browser app with rollup and serves it, starts two Node peers (the radar feed and sector D6's
 * automatic controller), prints the URL, and runs until Ctrl-C.
 *
 * Options (environment): DEMO_HOST (default 127.0.0.1), DEMO_PORT (8080), SIGNAL_PORT (8787).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import { startSignalingServer } from '@synod/signaling/server';

const APP = fileURLToPath(new URL('../..', import.meta.url));
const host = process.env['DEMO_HOST'] ?? '127.0.0.1';
const port = Number(process.env['DEMO_PORT'] ?? 8080);
const signalPort = Number(process.env['SIGNAL_PORT'] ?? 8787);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
};

/** Builds dist/app.js from the rollup config beside package.json. */
export async function buildApp(): Promise<void> {
  const started = performance.now();
  const config = (await import(join(APP, 'rollup.config.mjs'))).default;
  const bundle = await rollup({ ...config, input: join(APP, config.input) });
  await bundle.write({ ...config.output, file: join(APP, config.output.file) });
  await bundle.close();
  console.log(`demo: built the browser app in ${Math.round(performance.now() - started)} ms`);
}

/** Serves public/ and dist/ (the bundle) read-only. */
export function serveApp(listenHost: string, listenPort: number): Promise<Server> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = path === '/' ? 'index.html' : path.slice(1);
    const roots = file.startsWith('app.js') ? ['dist'] : ['public'];
    void (async () => {
      for (const root of roots) {
        const full = join(APP, root, file);
        if (!full.startsWith(join(APP, root))) break;
        try {
          const body = await readFile(full);
          response.writeHead(200, { 'content-type': TYPES[extname(full)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
          response.end(body);
          return;
        } catch {
          // try the next root
        }
      }
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => resolve(server));
  });
}

/** One of the demo's Node peers, as its own process. */
export function startNodePeer(role: 'feed' | 'sector', signalingUrl: string, seed = 1): ChildProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(APP, 'src/node/peer.ts'), role, signalingUrl, String(seed)], {
    cwd: APP,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => `  [${role}] ${line}`)
      .join('\n');
  child.stdout!.on('data', (chunk: Buffer) => console.log(prefix(chunk)));
  child.stderr!.on('data', (chunk: Buffer) => console.error(prefix(chunk)));
  return child;
}

async function main(): Promise<void> {
  await buildApp();
  const signaling = await startSignalingServer({ port: signalPort, host });
  const signalingUrl = `ws://${host}:${signalPort}`;
  const server = await serveApp(host, port);
  const peers = [startNodePeer('feed', signalingUrl), startNodePeer('sector', signalingUrl)];
  const url = `http://${host}:${port}/`;
  console.log(`\ndemo: signaling on ${signalingUrl}; radar feed and sector D6 peers started`);
  console.log(`demo: open ${url} in two browser windows (Ctrl-C stops everything)\n`);
  const stop = async () => {
    for (const child of peers) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    server.close();
    await signaling.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) await main();
