/**
 * The member's side of the multi-process e2e tests (crash/member.ts and the toolkit tests' member.ts): read
 * settings from the environment, report events as JSON lines on stdout (process.ts reads them),
 * exit at a deadline, wait for the link to the founder, and wait for a condition that handlers
 * make true.
 */

/** The environment variable `name`, or `fallback`; throws when neither is there. */
export function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

/** Writes `{ event, …fixed, atMs, …fields }` as one line on stdout. */
export type Report = (event: string, fields?: Record<string, unknown>) => void;

/** A Report whose every line also carries `fixed` (say the member's index). */
export function reporter(fixed: Record<string, unknown> = {}): Report {
  return (event, fields = {}) => console.log(JSON.stringify({ event, ...fixed, atMs: Date.now(), ...fields }));
}

/**
 * A stuck run must not outlive the test that started it: after E2E_DEADLINE_MS (or `defaultMs`)
 * reports 'timeout' and exits with code 3.
 */
export function exitAtDeadline(report: Report, defaultMs: number): void {
  setTimeout(() => {
    report('timeout');
    process.exit(3);
  }, Number(env('E2E_DEADLINE_MS', String(defaultMs)))).unref();
}

/**
 * A joiner first waits for a link to the founder (E2E_FOUNDER, its transport address, if set), as
 * an app would wait for a contact: joining with no live contact founds a second group.
 */
export async function linkToFounder(peer: { readonly transport: { peers(): readonly string[] } }, withinMs = 20_000): Promise<void> {
  const founder = process.env['E2E_FOUNDER'];
  if (!founder) return;
  const waitUntil = performance.now() + withinMs;
  while (!peer.transport.peers().includes(founder)) {
    if (performance.now() > waitUntil) throw new Error(`no link to the founder ${founder} after ${withinMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `until(condition)` waits until `condition()` holds, checking it again each time a handler calls
 * `changed()` (a delivery, a view, an acknowledgement).
 */
export function changes(): { changed(): void; until(condition: () => boolean): Promise<void> } {
  let wake: (() => void) | undefined;
  return {
    changed() {
      wake?.();
      wake = undefined;
    },
    async until(condition) {
      while (!condition()) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}
