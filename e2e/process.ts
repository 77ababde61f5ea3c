/**
 * The parent's side of the multi-process e2e tests (crash/scenario.ts, toolkit-*.test.ts): start a
 * member script as a Node process running TypeScript from source, read the JSON lines it reports on
 * stdout (member-io.ts writes them) and wait for one of them; find free loopback ports; SIGKILL
 * whatever is still running once the tests are done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';

/** One JSON line a member reported: `{ event: 'joined', … }`. */
export type MemberEvent = Record<string, any>;

export interface MemberExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface MemberOptions {
  /** Names the process in errors: 'member 1'. */
  readonly name: string;
  /** Added to this process's environment. */
  readonly env?: Record<string, string>;
  /** 'pipe' to let the test close the member's stdin (child.stdin.end()) as a stop signal. */
  readonly stdin?: 'ignore' | 'pipe';
  /** How long next() waits unless told otherwise; Infinity leaves it to the test's own timeout. 30 s by default. */
  readonly waitMs?: number;
}

export interface MemberProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Every event reported so far, in order. */
  readonly events: MemberEvent[];
  /** Once the process is gone and its stdout read to the end. */
  readonly exited: Promise<MemberExit>;
  /** The first event (already reported or still to come) satisfying `test`; rejects if the process ends or `timeoutMs` passes first. */
  next(test: (event: MemberEvent) => boolean, what: string, timeoutMs?: number): Promise<MemberEvent>;
}

const running = new Set<ChildProcess>();

/** Starts `script` with `node --conditions=source --import tsx`; its stderr goes to the test's. */
export function spawnMember(script: string, options: MemberOptions): MemberProcess {
  const { name, waitMs = 30_000 } = options;
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'inherit'],
  });
  running.add(child);
  const events: MemberEvent[] = [];
  const waiters = new Set<() => void>();
  const wake = () => [...waiters].forEach((waiter) => waiter());
  let gone = false;
  let buffered = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as MemberEvent);
    wake();
  });
  // 'close', not 'exit': by then every line it wrote has been read, so an event it reported just
  // before exiting is not mistaken for one it never reported.
  const exited = new Promise<MemberExit>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      gone = true;
      wake();
      resolve({ code, signal });
    }),
  );
  const lastEvents = () => JSON.stringify(events.slice(-3));
  return {
    name,
    child,
    events,
    exited,
    next(test, what, timeoutMs = waitMs) {
      return new Promise((resolve, reject) => {
        const settle = (error: Error | undefined, event?: MemberEvent) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(event!);
        };
        const timer = Number.isFinite(timeoutMs)
          ? setTimeout(() => settle(new Error(`${name}: timed out waiting for ${what}; last events ${lastEvents()}`)), timeoutMs)
          : undefined;
        const check = () => {
          const found = events.find(test);
          if (found) settle(undefined, found);
          else if (gone) settle(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before ${what}; last events ${lastEvents()}`));
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** SIGKILLs every member still running: for `after()`, so that a failed test leaves no process behind. */
export function killMembers(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** `count` free loopback ports and the E2E_PEERS list naming them all (`udp:127.0.0.1:<port>,…`). */
export async function udpPeers(count: number): Promise<{ ports: number[]; peers: string }> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  return { ports, peers: ports.map((port) => `udp:127.0.0.1:${port}`).join(',') };
}
