/**
 * The test runner's side of the tools members (harness.ts), shared by e2e/toolkit-browser.test.ts
 * and e2e/toolkit-node.test.ts: a handle to call a member, polling until its answers satisfy a
 * test, and the log of critical sections on the runner's clock.
 */
import assert from 'node:assert/strict';
import type { ReportEvent } from './harness.js';

export interface Handle {
  readonly name: string;
  call<T = any>(method: string, ...args: unknown[]): Promise<T>;
}
export interface Info {
  memberId: string;
  viewId: number;
  members: string[];
  leader: string | undefined;
  isLeader: boolean;
  tokenHolder: string | undefined;
  primary: string | undefined;
}
export interface Replicas {
  map: [string, unknown][];
  counter: number;
  log: unknown[];
  versions: number[];
  digests: number[];
  loads: string[];
}
export interface Section {
  readonly tool: ReportEvent['tool'];
  readonly member: string;
  readonly fence: number;
  readonly enterMs: number;
  exitMs: number | undefined;
}

export async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 1500)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const infos = (handles: readonly Handle[]) => Promise.all(handles.map((h) => h.call<Info>('info')));
export const sameView = (all: Info[], size: number) => all.every((i) => i.members.length === size && i.viewId === all[0]!.viewId);

/**
 * Critical sections as the runner saw them: `record` each report as it arrives (the member waits
 * for it before going on), so the runner's clock orders every entry and exit.
 */
export function sectionLog() {
  const sections: Section[] = [];
  const violations: string[] = [];
  return {
    sections,
    record(event: ReportEvent): void {
      const now = Date.now();
      if (event.what === 'enter') {
        const inside = sections.filter((s) => s.tool === event.tool && s.exitMs === undefined);
        if (inside.length > 0) violations.push(`${event.tool} ${event.fence} at ${event.member} entered while ${JSON.stringify(inside)}`);
        sections.push({ tool: event.tool, member: event.member, fence: event.fence, enterMs: now, exitMs: undefined });
      } else {
        const open = sections.find((s) => s.tool === event.tool && s.member === event.member && s.fence === event.fence && s.exitMs === undefined);
        if (open) open.exitMs = now;
        else violations.push(`exit without entry: ${JSON.stringify(event)}`);
      }
    },
    /** A member that died inside its section left it when it died. */
    endSectionsOf(member: string, atMs: number): void {
      for (const section of sections) if (section.member === member && section.exitMs === undefined) section.exitMs = atMs;
    },
    /** `tool`'s sections in order of entry, after checking that none overlaps the next and that fences rise. */
    check(tool: ReportEvent['tool']): Section[] {
      assert.deepEqual(violations, [], 'no member entered a section while another was inside, no exit without entry');
      const mine = sections.filter((s) => s.tool === tool).sort((a, b) => a.enterMs - b.enterMs);
      for (let i = 1; i < mine.length; i++) {
        const [previous, next] = [mine[i - 1]!, mine[i]!];
        assert.ok(previous.exitMs !== undefined && previous.exitMs <= next.enterMs, `${tool} sections overlap: ${JSON.stringify([previous, next])}`);
        if (tool === 'lock') assert.ok(next.fence > previous.fence, `fencing tokens rise: ${JSON.stringify([previous, next])}`);
        // The token's generation rises with every pass; a holder that takes it again while idle keeps it.
        else assert.ok(next.fence > previous.fence || (next.fence === previous.fence && next.member === previous.member), `token generations: ${JSON.stringify([previous, next])}`);
      }
      return mine;
    },
  };
}

/**
 * Payments fly between `all` while `taker` takes a snapshot: the cut names every member, its
 * states plus the payments in flight hold all the money, and once every payment is delivered the
 * balances do too.
 */
export async function checkSnapshotAmidPayments(all: readonly Handle[], taker: Handle, ids: readonly string[], total: number): Promise<void> {
  const paying = Promise.all(all.map((h) => h.call('pay', 60, 10)));
  await new Promise((resolve) => setTimeout(resolve, 150));
  const cut = await taker.call('snapshot');
  await paying;
  assert.deepEqual([...cut.members].sort(), [...ids].sort());
  const recorded = Object.values(cut.states as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.equal(recorded + cut.inFlight, total, `states ${JSON.stringify(cut.states)} + in flight ${cut.inFlight} (${cut.inFlightMessages} messages)`);
  await until('every payment delivered', () => Promise.all(all.map((h) => h.call<number>('money'))), (m) => m.reduce((a, b) => a + b, 0) === total);
  console.log(`# snapshot: states ${JSON.stringify(Object.values(cut.states))}, ${cut.inFlightMessages} payments (${cut.inFlight}) in flight`);
}

/** The survivors agree on the balancer's owners, and only the dead member's keys moved (to survivors); returns how many. */
export async function checkOnlyDeadKeysMoved(survivors: readonly Handle[], before: Record<string, string>, dead: string, survivorIds: readonly string[]): Promise<number> {
  const keys = Object.keys(before);
  const owners = await Promise.all(survivors.map((h) => h.call<Record<string, string>>('owners', keys)));
  for (const other of owners.slice(1)) assert.deepEqual(other, owners[0]);
  let moved = 0;
  for (const key of keys) {
    if (before[key] === dead) {
      moved++;
      assert.ok(survivorIds.includes(owners[0]![key]!), key);
    } else assert.equal(owners[0]![key], before[key], `${key} stays with its owner`);
  }
  assert.ok(moved > 0);
  return moved;
}
