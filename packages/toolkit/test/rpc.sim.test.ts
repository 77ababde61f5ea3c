/**
 * Group RPC under loss and repliers crashing mid-call, many seeds. The checker, over a history of
 * calls, replies, declines and view changes recorded on the virtual clock:
 *
 * 1. every call of a caller that survives settles (resolves, or rejects TIMEOUT after its timeout);
 * 2. replies come from distinct members of the caller's view when it called, never more than the
 *    filter wants;
 * 3. a call resolves short of its filter only when no more replies could come: every member of the
 *    view it was sent in replied, declined (no handler) or left the view (Isis's rule).
 *
 * A failure names its seed: `SEED=17 node --conditions=source --import tsx --test <this file>`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reply } from '@synod/peer';
import { World } from '@synod/sim/world';
import { rpc, type Rpc, type ReplyFilter } from '../src/rpc.js';
import { formGroup, checkSeeds } from './replicated-harness.js';

const SEEDS = process.env['SEED'] ? [Number(process.env['SEED'])] : Array.from({ length: Number(process.env['SEEDS'] ?? 30) }, (_, i) => 2000 + i);

export interface CallRecord {
  readonly callId: number;
  readonly caller: string;
  readonly atMs: number;
  readonly filter: 'first' | 'majority' | 'all' | number | 'predicate';
  /** The caller's view when it called. */
  readonly view: readonly string[];
  outcome?: { readonly atMs: number; readonly senders: readonly string[]; readonly predicateHeld: boolean } | { readonly atMs: number; readonly error: string };
}

export interface RpcHistory {
  readonly calls: CallRecord[];
  /** Members that serve no handler for the kind called. */
  readonly decliners: ReadonlySet<string>;
  /** Members each caller saw leave a view, at any time. */
  readonly leftAt: ReadonlyMap<string, ReadonlySet<string>>;
  /** Callers alive at the end. */
  readonly survivors: ReadonlySet<string>;
}

export function checkRpcHistory(history: RpcHistory): void {
  for (const call of history.calls) {
    const where = `call ${call.callId} by ${call.caller} at t=${call.atMs} (${String(call.filter)}, view ${call.view.join(',')})`;
    if (!call.outcome) {
      if (history.survivors.has(call.caller)) throw new Error(`${where} never settled`);
      continue;
    }
    if ('error' in call.outcome) {
      if (!/TIMEOUT|EXCLUDED/.test(call.outcome.error)) throw new Error(`${where} failed: ${call.outcome.error}`);
      continue;
    }
    const senders = call.outcome.senders;
    if (new Set(senders).size !== senders.length) throw new Error(`${where}: a member replied twice: ${senders.join(',')}`);
    for (const sender of senders) if (!call.view.includes(sender)) throw new Error(`${where}: reply from ${sender}, not in the view`);
    const left = history.leftAt.get(call.caller) ?? new Set<string>();
    const size = call.view.length;
    const most = call.filter === 'first' ? 1 : call.filter === 'majority' ? Math.floor(size / 2) + 1 : typeof call.filter === 'number' ? call.filter : size;
    if (senders.length > most) throw new Error(`${where}: ${senders.length} replies, more than the ${most} wanted`);
    const present = size - call.view.filter((member) => left.has(member)).length;
    const wanted =
      call.filter === 'first' ? 1 : call.filter === 'majority' ? Math.floor(present / 2) + 1 : typeof call.filter === 'number' ? call.filter : present;
    const satisfied = call.filter === 'predicate' ? call.outcome.predicateHeld : senders.length >= Math.min(wanted, present);
    const exhausted = call.view.every((member) => senders.includes(member) || history.decliners.has(member) || left.has(member));
    if (!satisfied && !exhausted) {
      throw new Error(`${where}: resolved with ${senders.length} replies (${senders.join(',')}) though more could come`);
    }
  }
}

async function run(seed: number): Promise<{ history: RpcHistory; faults: string[] }> {
  const world = new World({ seed, duplicateRate: 0.03 });
  const prng = world.prng.derive('workload');
  world.lossRate = prng.pick([0, 0.03, 0.08]);
  const faults = [`loss ${world.lossRate}`];
  const size = prng.int(3, 5);
  const decliner = prng.int(-1, size - 1); // -1: every member serves
  const leftAt = new Map<string, Set<string>>();
  const tools: Rpc[] = [];
  const { peers, groups } = await formGroup(world, size, (group, index) => {
    const tool = (tools[index] = rpc(group, { name: 'svc' }));
    if (index !== decliner) {
      const delayPrng = world.prng.derive(`delay-${index}`);
      tool.handle('work', async (_args, message) => {
        message.leaveMonitor();
        await new Promise((resolve) => group.clock.setTimer(() => resolve(undefined), delayPrng.int(0, 40)));
        return index;
      });
    }
    group.on('view', (view) => {
      const seen = leftAt.get(group.memberId) ?? new Set<string>();
      for (const member of view.left) seen.add(member);
      leftAt.set(group.memberId, seen);
    });
  });
  const memberIds = groups.map((group) => group.memberId);
  const decliners = new Set(decliner >= 0 ? [memberIds[decliner]!] : []);
  // Two callers that never crash; the others may.
  const callers = [0, 1];
  const calls: CallRecord[] = [];
  const filters: ReplyFilter[] = ['first', 'majority', 'all', 2, (replies) => replies.length >= 2 && replies.some((reply) => reply.data === 0)];
  const orders = ['fbcast', 'cbcast', 'abcast', 'safe'] as const;
  let crashes = 0;
  for (let step = 0; step < 40; step++) {
    for (const index of callers) {
      if (!prng.chance(0.6)) continue;
      const group = groups[index]!;
      const filter = prng.pick(filters);
      const predicate = typeof filter === 'function' ? filter : undefined;
      const record: CallRecord = {
        callId: calls.length,
        caller: group.memberId,
        atMs: world.nowMs,
        filter: predicate ? 'predicate' : (filter as CallRecord['filter']),
        view: [...(group.view?.members ?? [])],
      };
      calls.push(record);
      const timeout = prng.chance(0.2) ? { timeoutMs: prng.int(5, 60) } : {};
      tools[index]!.call('work', step, { filter, order: prng.pick(orders), ...timeout }).then(
        (replies: Reply[]) => (record.outcome = { atMs: world.nowMs, senders: replies.map((reply) => reply.sender), predicateHeld: predicate?.(replies) ?? false }),
        (error: unknown) => (record.outcome = { atMs: world.nowMs, error: `${(error as { code?: string }).code}: ${String(error)}` }),
      );
    }
    if (prng.chance(0.06) && crashes < Math.floor((size - 1) / 2)) {
      const victim = prng.int(2, size - 1);
      if (world.isAlive(peers[victim]!)) {
        world.crash(peers[victim]!);
        crashes++;
        faults.push(`crash ${victim} at ${world.nowMs}`);
      }
    }
    await world.run(prng.int(2, 25));
  }
  world.lossRate = 0;
  const survivors = new Set(callers.map((index) => groups[index]!.memberId));
  await world.until(() => calls.every((call) => call.outcome !== undefined || !survivors.has(call.caller)), 'every call to settle');
  return { history: { calls, decliners, leftAt, survivors }, faults };
}

describe('group rpc in the simulator', () => {
  it(`every call settles with replies its filter allows, or short only when no more could come (${SEEDS.length} seeds)`, { timeout: 120_000 }, async () => {
    let calls = 0;
    let short = 0;
    let timeouts = 0;
    let crashes = 0;
    const started = performance.now();
    await checkSeeds(SEEDS, run, checkRpcHistory, (history, faults) => {
      crashes += faults.filter((fault) => fault.startsWith('crash')).length;
      calls += history.calls.length;
      for (const call of history.calls) {
        if (call.outcome && 'error' in call.outcome) timeouts++;
        else if (call.outcome && call.filter === 'all' && call.outcome.senders.length < call.view.length) short++;
      }
    });
    console.log(`# rpc: ${SEEDS.length} seeds, ${calls} calls, ${crashes} crashes, ${short} 'all' calls resolved short, ${timeouts} timeouts, ${Math.round(performance.now() - started)} ms`);
    assert.ok(calls > 0);
  });

  it('the checker catches a duplicate replier, a stranger, too many replies, a premature resolution and a hung call', () => {
    const good = (): RpcHistory => ({
      calls: [{ callId: 0, caller: 'a', atMs: 0, filter: 'all', view: ['a', 'b', 'c'], outcome: { atMs: 5, senders: ['a', 'b'], predicateHeld: false } }],
      decliners: new Set(),
      leftAt: new Map([['a', new Set(['c'])]]),
      survivors: new Set(['a']),
    });
    checkRpcHistory(good()); // c left: two replies are all that could come
    const withOutcome = (senders: string[], filter: CallRecord['filter'] = 'all', left: string[] = ['c']): RpcHistory => ({
      ...good(),
      calls: [{ ...good().calls[0]!, filter, outcome: { atMs: 5, senders, predicateHeld: false } }],
      leftAt: new Map([['a', new Set(left)]]),
    });
    assert.throws(() => checkRpcHistory(withOutcome(['a', 'a'])), /replied twice/);
    assert.throws(() => checkRpcHistory(withOutcome(['a', 'x'])), /not in the view/);
    assert.throws(() => checkRpcHistory(withOutcome(['a', 'b'], 'first')), /more than the 1 wanted/);
    assert.throws(() => checkRpcHistory(withOutcome(['a'], 'all', [])), /though more could come/);
    const hung = good();
    delete hung.calls[0]!.outcome;
    assert.throws(() => checkRpcHistory(hung), /never settled/);
  });
});
