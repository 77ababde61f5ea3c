/**
 * One member of e2e/toolkit-browser.test.ts, the same code in a Chromium page (page.ts) and in a
 * Node process (member.ts), and of e2e/toolkit-node.test.ts (toolkit-node/member.ts, over UDP): a
 * peer (made by the caller, on its transport) in group 'tools' that makes every toolkit tool in
 * JoinOptions.setup — leader election, token, locks, balancer, a replicated map/counter/log, RPC,
 * a checkpoint of the replicas in `storage` (IndexedDB in the page, files in Node), a primary-backup
 * counter service and a distributed snapshot over 'PAY' transfers between balances.
 *
 * The test drives it through `call(method, args)`: every method takes and returns JSON values.
 * Critical sections (token, lock) are reported to the test runner with `report`, which resolves
 * once the runner has recorded the event: a member enters only after the runner knows, and releases
 * only after the runner has recorded its exit, so the runner's clock orders every section.
 */
import { SynodError, type MemberId } from '@synod/core';
import type { Group, Peer, Reply } from '@synod/peer';
import type { Storage } from '@synod/storage';
// e2e's package.json does not list the toolkit; its source is bundled (page) or run by tsx (Node).
import {
  balancer,
  checkpoint,
  createLeader,
  createLocks,
  createToken,
  distributedSnapshot,
  primaryBackup,
  replicated,
  rpc,
  type Balancer,
  type DistributedSnapshot,
  type GroupCheckpoint,
  type LeaderElection,
  type Locks,
  type PrimaryBackup,
  type ReplicatedCounter,
  type ReplicatedLog,
  type ReplicatedMap,
  type Rpc,
  type Token,
} from '../../packages/toolkit/src/index.js';

/** Short timings, as e2e/webrtc/harness.ts: a closed page's links go down at once, a killed process is
 * suspected after 3 s (1.5 s excluded a member stalled for that long on a loaded 2-core machine, once). */
export const TIMING = { heartbeatMs: 100, suspectAfterMs: 3000, discoveryMs: 200 } as const;
const LEASE = { leaseMs: 1500 } as const;
export const INITIAL_BALANCE = 100;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const json = (bytes: Uint8Array): any => JSON.parse(decoder.decode(bytes));

export type ReportEvent = { readonly tool: 'token' | 'lock'; readonly what: 'enter' | 'exit'; readonly member: MemberId; readonly fence: number };
export type Report = (event: ReportEvent) => Promise<void>;

/** The primary-backup service: a counter that remembers which requests it ran, in order. */
interface Ledger {
  total: number;
  ids: string[];
}

export interface ToolsMember {
  call(method: string, args: unknown[]): Promise<unknown>;
}

/**
 * Joins 'tools' on `peer` (closed if the join fails). `kind` labels this member's RPC replies; its
 * 'SLOW' handler answers after `slowMs`.
 */
export async function startToolsMember(peer: Peer, storage: Storage, kind: string, report: Report, slowMs = 0): Promise<ToolsMember> {
  let leader!: LeaderElection;
  let token!: Token;
  let locks!: Locks;
  let balance!: Balancer;
  let map!: ReplicatedMap;
  let counter!: ReplicatedCounter;
  let log!: ReplicatedLog;
  let calls!: Rpc;
  let cp!: GroupCheckpoint;
  let pb!: PrimaryBackup<{ id: string; n: number }, number>;
  let snap!: DistributedSnapshot;
  let ledger: Ledger = { total: 0, ids: [] };
  let money = INITIAL_BALANCE;
  const loads: string[] = [];
  let group: Group;
  try {
    group = await peer.join('tools', {
      ...TIMING,
      setup: (g) => {
        leader = createLeader(g, LEASE);
        token = createToken(g, LEASE);
        locks = createLocks(g, LEASE);
        balance = balancer(g);
        map = replicated(g, 'map', 'map');
        counter = replicated(g, 'counter', 'counter');
        log = replicated(g, 'log', 'log');
        for (const replica of [map, counter, log]) replica.on('change', (change) => void (change.type === 'load' && loads.push(`${replica.name}:${change.from}`)));
        cp = checkpoint(g, { storage, parts: [map, counter, log] });
        calls = rpc(g);
        calls.handle('WHO', () => ({ member: g.memberId, kind }));
        calls.handle('SLOW', async (_args, message) => {
          message.leaveMonitor(); // a slow handler must not hold up this member's later deliveries
          await sleep(slowMs);
          return kind;
        });
        pb = primaryBackup(g, {
          apply: (request: { id: string; n: number }) => {
            ledger.total += request.n;
            ledger.ids.push(request.id);
            return ledger.total;
          },
          save: () => encoder.encode(JSON.stringify(ledger)),
          load: (bytes) => void (ledger = json(bytes)),
        });
        // Money moves only by PAY: debited at the sender as it sends, credited at the payee on delivery.
        snap = distributedSnapshot(g, { save: () => encoder.encode(JSON.stringify(money)) });
        snap.handle<{ to: MemberId; amount: number }>('PAY', (message) => {
          if (message.data.to === g.memberId) money += message.data.amount;
        });
      },
    });
  } catch (error) {
    await peer.close({ leave: false });
    throw error;
  }
  const self = group.memberId;

  const enter = async (tool: ReportEvent['tool'], fence: number, valid: () => boolean): Promise<void> => {
    if (!valid()) throw new Error(`${tool} grant ${fence} not valid on entry`);
    await report({ tool, what: 'enter', member: self, fence });
  };
  const exit = async (tool: ReportEvent['tool'], fence: number, valid: () => boolean): Promise<void> => {
    if (!valid()) throw new Error(`${tool} grant ${fence} no longer valid before exit`);
    await report({ tool, what: 'exit', member: self, fence });
  };

  const methods: Record<string, (...args: any[]) => unknown> = {
    info: () => ({
      memberId: self,
      viewId: group.view?.viewId ?? -1,
      members: group.view?.members ?? [],
      leader: leader.leader,
      isLeader: leader.isLeader(),
      tokenHolder: token.holder,
      primary: pb.primary,
    }),

    owners: (keys: string[]) => Object.fromEntries(keys.map((key) => [key, balance.owner(key)])),

    /** `rounds` token sections of `holdMs`, one after another; resolves with the generations held. */
    async tokenRounds(rounds: number, holdMs: number) {
      const held: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const grant = await token.acquire({ timeoutMs: 30_000 });
        await enter('token', grant.generation, grant.valid);
        await sleep(holdMs);
        await exit('token', grant.generation, grant.valid);
        grant.release();
        held.push(grant.generation);
      }
      return held;
    },
    /** Takes the token and never gives it back (until this member dies). */
    async tokenHold() {
      const grant = await token.acquire({ timeoutMs: 30_000 });
      await enter('token', grant.generation, grant.valid);
      return grant.generation;
    },
    async lockRounds(rounds: number, holdMs: number) {
      const held: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const grant = await locks.acquire('L', 'write', { timeoutMs: 30_000 });
        await enter('lock', grant.fencingToken, grant.valid);
        await sleep(holdMs);
        await exit('lock', grant.fencingToken, grant.valid);
        await grant.release();
        held.push(grant.fencingToken);
      }
      return held;
    },
    async lockHold() {
      const grant = await locks.acquire('L', 'write', { timeoutMs: 30_000 });
      await enter('lock', grant.fencingToken, grant.valid);
      return grant.fencingToken;
    },
    lockQueue: () => ({ holders: locks.holders('L'), waiting: locks.waiting('L') }),

    /** Concurrent-looking updates: `count` turns of a map set (7 shared keys), a counter add and a log append. */
    async replicate(prefix: string, count: number) {
      const done: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        done.push(map.set(`k${i % 7}`, `${prefix}.${i}`), counter.add(i + 1), log.append(`${prefix}.${i}`));
        if (i % 3 === 2) await sleep(Math.floor(Math.random() * 8)); // spread over turns, interleaved with the others'
      }
      await Promise.all(done);
      return count;
    },
    replicas: () => ({
      map: [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
      counter: counter.value,
      log: log.slice(),
      versions: [map.version, counter.version, log.version],
      digests: [map.digest, counter.digest, log.digest],
      loads,
    }),

    /** `filter` 'node-answered' or `{ from }`: a predicate, done once a reply of kind 'node' (or from that member) is in. */
    async rpcCall(callKind: string, filter: 'all' | 'first' | 'majority' | 'node-answered' | { from: MemberId }, timeoutMs?: number) {
      const answered = (reply: Reply) => (typeof filter === 'object' ? reply.sender === filter.from : (reply.data as { kind?: string }).kind === 'node');
      try {
        const replies = await calls.call(callKind, null, {
          filter: filter === 'node-answered' || typeof filter === 'object' ? (replies: readonly Reply[]) => replies.some(answered) : filter,
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
        });
        return { replies: replies.map((reply) => ({ sender: reply.sender, data: reply.data })) };
      } catch (error) {
        return { error: error instanceof SynodError ? error.code : String(error) };
      }
    },

    /** Sequential requests to the primary-backup counter; resolves with the ids acknowledged and the longest wait for one. */
    async pbStream(prefix: string, count: number, gapMs: number) {
      const acked: string[] = [];
      let slowestMs = 0;
      for (let i = 0; i < count; i++) {
        const id = `${prefix}.${i}`;
        const sentAt = Date.now();
        await pb.request({ id, n: 1 }, { timeoutMs: 30_000 });
        slowestMs = Math.max(slowestMs, Date.now() - sentAt);
        acked.push(id);
        await sleep(gapMs);
      }
      return { acked, slowestMs };
    },
    pbState: () => ({ isPrimary: pb.isPrimary, primary: pb.primary, appliedSeq: pb.appliedSeq, ledger }),

    /** `count` payments of 1..5 to random other members, each debited in the same step as its fbcast, in bursts of 4. */
    async pay(count: number, gapMs: number) {
      for (let i = 0; i < count; i++) {
        const others = (group.view?.members ?? []).filter((member) => member !== self);
        const to = others[Math.floor(Math.random() * others.length)];
        if (to === undefined) break;
        const amount = 1 + Math.floor(Math.random() * 5);
        money -= amount;
        void group.fbcast('PAY', { to, amount });
        if (i % 4 === 3) await sleep(gapMs);
      }
      return money;
    },
    money: () => money,
    async snapshot() {
      const cut = await snap.take({ timeoutMs: 20_000 });
      const states = Object.fromEntries([...cut.states].map(([member, bytes]) => [member, json(bytes) as number]));
      let inFlight = 0;
      let inFlightMessages = 0;
      for (const channel of cut.channels) {
        for (const message of channel.messages) {
          const pay = message.data as { to: MemberId; amount: number };
          if (message.kind === 'PAY' && pay.to === channel.to) {
            inFlight += pay.amount;
            inFlightMessages++;
          }
        }
      }
      return { members: cut.members, states, inFlight, inFlightMessages };
    },

    takeCheckpoint: () => cp.take(),
    async restored() {
      const info = await cp.restored;
      await Promise.all([map.ready, counter.ready, log.ready]);
      return info ?? null;
    },

    close: () => peer.close(),
  };

  return {
    async call(method, args) {
      const fn = methods[method];
      if (!fn) throw new Error(`no method ${method}`);
      return fn(...args);
    },
  };
}
