/**
 * The crash scenario every real transport runs (udp.test.ts, webrtc.test.ts): three Node processes
 * (member.ts) abcast while one of them is killed with SIGKILL mid-stream — first a plain member,
 * then the coordinator and sequencer. From the JSONL traces (SYNOD_TRACE) of the survivors: they
 * install a new view without the victim and agree on the same delivered sequence; nothing a
 * survivor sent is lost, nothing is duplicated.
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TraceRecord } from '@synod/core';
import { killMembers, spawnMember, type MemberProcess } from '../process.js';

const MEMBER_SCRIPT = fileURLToPath(new URL('./member.ts', import.meta.url));

/** What a transport brings to the scenario: how its members find each other. */
export interface CrashTransport {
  /** 'udp' or 'webrtc': member.ts's E2E_TRANSPORT. */
  readonly transport: string;
  /** Messages each member abcasts. */
  readonly messages: number;
  /** Per test; members are stopped a few seconds before it. */
  readonly timeoutMs: number;
  /** Before a run: the environment of member `index` of three, and what to stop after the run. */
  setUp(run: string): Promise<CrashRun>;
}

export interface CrashRun {
  env(index: number): Record<string, string>;
  tearDown(): Promise<void>;
}

interface Member extends MemberProcess {
  readonly index: number;
  readonly trace: string;
}

function readTrace(path: string): TraceRecord[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as TraceRecord);
}

export function crashSuite(options: CrashTransport): void {
  const { transport, messages } = options;
  const scratch = mkdtempSync(join(tmpdir(), `synod-e2e-${transport}-`));
  after(() => {
    killMembers();
    if (!process.env['E2E_KEEP_TRACES']) rmSync(scratch, { recursive: true, force: true });
  });

  function startMember(run: string, index: number, env: Record<string, string>): Member {
    const trace = join(scratch, `${run}-member${index}.jsonl`);
    const member = spawnMember(MEMBER_SCRIPT, {
      name: `member ${index}`,
      env: {
        ...env,
        SYNOD_TRACE: trace,
        E2E_TRANSPORT: transport,
        E2E_MESSAGES: String(messages),
        E2E_DEADLINE_MS: String(options.timeoutMs - 5_000),
      },
    });
    return Object.assign(member, { index, trace });
  }

  describe(`three Node processes over ${transport}`, () => {
    for (const [victimIndex, role] of [[1, 'a member'], [0, 'the coordinator and sequencer']] as const) {
      it(`abcast ${messages} messages each while ${role} is killed with SIGKILL: survivors agree, nothing lost or duplicated`, { timeout: options.timeoutMs }, async () => {
        const run = `victim${victimIndex}`;
        const setup = await options.setUp(run);
        const spawned: Member[] = [];
        try {
          await scenario(run, victimIndex, role, setup, spawned);
        } catch (error) {
          // What each member last said, to tell a slow run from a stuck one.
          for (const member of spawned) {
            const tail = member.events.filter((e) => e['event'] !== 'sent' && e['event'] !== 'progress').slice(-6);
            const progress = member.events.filter((e) => e['event'] === 'progress').at(-1);
            console.log(`# ${transport} ${run} member ${member.index} (exit ${member.child.exitCode ?? member.child.signalCode}): ${JSON.stringify(tail)} last progress ${JSON.stringify(progress)}`);
          }
          throw error;
        } finally {
          await setup.tearDown();
        }
      });
    }
  });

  async function scenario(run: string, victimIndex: number, role: string, setup: CrashRun, spawned: Member[]): Promise<void> {
    const startedMs = performance.now();
    // The founder first, so that the others find a group rather than race to found one.
    const first = startMember(run, 0, setup.env(0));
    spawned.push(first);
    const founder = (await first.next((e) => e['event'] === 'joined', 'joining'))['address'] as string;
    const joinerEnv = (index: number) => ({ ...setup.env(index), E2E_FOUNDER: founder });
    const members = [first, startMember(run, 1, joinerEnv(1)), startMember(run, 2, joinerEnv(2))];
    spawned.push(members[1]!, members[2]!);
    await Promise.all(members.map((m) => m.next((e) => e['event'] === 'view' && e['members'].length === 3, 'a view of 3')));
    const formedMs = performance.now();
    const victim = members[victimIndex]!;
    const survivors = members.filter((member) => member !== victim);
    // Mid-stream: a quarter of the victim's messages are ordered and delivered (a message whose
    // order was not granted yet dies with its sender: its data is multicast only once ordered).
    const killPoint = await victim.next((e) => e['event'] === 'progress' && e['deliveredOwn'] >= messages / 4, 'a quarter of its stream', options.timeoutMs);
    victim.child.kill('SIGKILL');
    const killedMs = performance.now();
    const killedAt = Date.now();
    assert.equal((await victim.exited).signal, 'SIGKILL');
    const summaries = await Promise.all(survivors.map((m) => m.next((e) => e['event'] === 'summary', 'the summary', options.timeoutMs)));
    for (const survivor of survivors) assert.deepEqual(await survivor.exited, { code: 0, signal: null });
    const elapsedMs = performance.now() - startedMs;

    const traces = survivors.map((m) => readTrace(m.trace));
    const victimId = victim.events.find((e) => e['event'] === 'joined')!['member'] as string;
    const survivorIds = summaries.map((s) => s['member'] as string);
    for (const [i, trace] of traces.entries()) {
      const views = trace.filter((r): r is Extract<TraceRecord, { t: 'view' }> => r.t === 'view');
      assert.ok(views.some((v) => v.members.length === 3), `survivor ${i} was in the view of three`);
      assert.ok(
        views.some((v) => !v.members.includes(victimId) && survivorIds.every((id) => v.members.includes(id))),
        `survivor ${i} installed a view of the two survivors`,
      );
    }
    const newViewAt = Math.max(
      ...survivors.map((m) => m.events.find((e) => e['event'] === 'view' && e['members'].length === 2 && e['atMs'] >= killedAt)?.['atMs'] ?? NaN),
    );
    // The views the survivors installed while both were members agree.
    const viewsOf = (trace: TraceRecord[]) =>
      new Map(trace.filter((r) => r.t === 'view').map((r) => [r.viewId, JSON.stringify((r as { members: string[] }).members)]));
    const [viewsA, viewsB] = traces.map(viewsOf);
    for (const [viewId, membersA] of viewsA!) if (viewsB!.has(viewId)) assert.equal(viewsB!.get(viewId), membersA, `view ${viewId}`);
    // The same delivered sequence, no duplicates.
    const sequences = traces.map((trace) => trace.filter((r) => r.t === 'deliver').map((r) => (r as { id: string }).id));
    for (const [i, sequence] of sequences.entries()) assert.equal(new Set(sequence).size, sequence.length, `survivor ${i} delivered a duplicate`);
    assert.equal(sequences[0]!.length, sequences[1]!.length, 'both survivors delivered as many messages');
    assert.deepEqual(sequences[0], sequences[1], 'the survivors delivered the same sequence');
    // Nothing a survivor sent is lost: every survivor's messages and its DONE.
    for (const trace of traces) {
      for (const sender of survivorIds) {
        const fromSender = trace.filter((r) => r.t === 'deliver' && r.sender === sender).length;
        assert.equal(fromSender, messages + 1, `${sender}'s messages at a survivor`);
      }
    }
    const fromVictim = sequences[0]!.filter((id) => id.startsWith(`${victimId}:`)).length;
    console.log(
      `e2e ${transport}: ${messages} abcasts × 3 processes, group formed in ${Math.round(formedMs - startedMs)} ms, ` +
        `${role} killed after ${Math.round(killedMs - startedMs)} ms; ` +
        `survivors in a view of two ${newViewAt - killedAt} ms later; ` +
        `${fromVictim} of its messages delivered by the survivors (it had delivered ${killPoint['deliveredOwn']}); ` +
        `${sequences[0]!.length} deliveries each; ` +
        `total ${Math.round(elapsedMs)} ms; survivors' send phases ${summaries.map((s) => s['sentMs']).join(', ')} ms`,
    );
    assert.ok(fromVictim < messages, 'the victim was killed mid-stream');
  }
}
