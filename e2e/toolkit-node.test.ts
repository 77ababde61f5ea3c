/**
 * The toolkit's leader, token, balancer, RPC, checkpoint and snapshot tools across three Node
 * processes over UDP (a static list of loopback ports), each a tools member (toolkit-browser/harness.ts,
 * as in the browser test) driven by JSON lines (toolkit-node/member.ts), its checkpoint in files.
 *
 * 1. Steady state: one agreed leader (the founder); one balancer owner per key everywhere; RPC with
 *    filters 'all', 'first', 'majority' and a predicate, and a TIMEOUT while one member's handler
 *    dawdles; token sections from all three never overlap on the runner's clock (a member reports
 *    its entry and exit and waits for the runner to record each) and generations rise; a snapshot
 *    taken amid payments conserves money; a checkpoint of the replicas is saved in every member's files.
 * 2. The leader, holding the token while the others queue for it, is SIGKILLed: the survivors agree
 *    on a new leader, the token is regenerated at a survivor after the kill (a higher generation),
 *    and only the dead member's balancer keys move.
 * 3. The survivors are SIGKILLed too; one process restarted alone on its directory founds the group
 *    and restores exactly the checkpointed replicas from its files.
 *
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, killMembers, spawnMember, udpPeers, type MemberProcess } from './process.js';
import { INITIAL_BALANCE } from './toolkit-browser/harness.js';
import { checkOnlyDeadKeysMoved, checkSnapshotAmidPayments, infos, sameView, sectionLog, until, type Handle, type Info, type Replicas } from './toolkit-browser/runner.js';

const MEMBER_SCRIPT = fileURLToPath(new URL('./toolkit-node/member.ts', import.meta.url));
const KEYS = Array.from({ length: 48 }, (_, i) => `key-${i}`);
const SLOW_MS = 3000;

describe('toolkit leader, token, balancer, RPC, checkpoint and snapshot across three Node processes over UDP', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'synod-e2e-toolkit-node-'));
  after(() => {
    killMembers();
    rmSync(scratch, { recursive: true, force: true });
  });
  const { record, endSectionsOf, check: checkSections } = sectionLog();

  interface Member extends Handle {
    readonly process: MemberProcess;
    readonly id: string;
  }
  /** Starts member `index` (files under scratch/m<index>) and acknowledges its section reports as they come. */
  async function start(index: number, env: Record<string, string>): Promise<Member> {
    const proc = spawnMember(MEMBER_SCRIPT, {
      name: `member ${index}`,
      stdin: 'pipe',
      env: { E2E_INDEX: String(index), E2E_DIR: join(scratch, `m${index}`), E2E_DEADLINE_MS: '80000', ...env },
    });
    const send = (command: Record<string, unknown>) => proc.child.stdin!.write(`${JSON.stringify(command)}\n`);
    void (async () => {
      for (let rid = 1; ; rid++) {
        const event = await proc.next((e) => e.event === 'report' && e.rid === rid, `report ${rid}`, Infinity).catch(() => undefined);
        if (!event) return; // the process is gone
        record(event['body']);
        send({ cmd: 'ack', rid });
      }
    })();
    const started = await proc.next((e) => e.event === 'started', 'start');
    let nextId = 1;
    return {
      name: proc.name,
      process: proc,
      id: started['member'],
      async call(method, ...args) {
        const id = nextId++;
        send({ cmd: 'call', id, method, args });
        const done = await proc.next((e) => (e.event === 'result' || e.event === 'failed') && e.id === id, `${method} to answer`);
        if (done.event === 'failed') throw new Error(`${proc.name} ${method}: ${done['message']}`);
        return done['value'];
      },
    };
  }
  const kill = async (member: Member) => {
    member.process.child.kill('SIGKILL');
    await member.process.exited;
  };

  let m0: Member;
  let m1: Member;
  let m2: Member;
  let ownersBefore: Record<string, string> = {};
  let checkpointed: Replicas;

  it('steady state: leader, balancer, RPC filters and TIMEOUT, token, snapshot and checkpoint', { timeout: 40_000 }, async () => {
    const { ports, peers } = await udpPeers(3);
    const env = (i: number) => ({ E2E_PORT: String(ports[i]), E2E_PEERS: peers });
    // Member 0 founds the group (the oldest: leader); its 'SLOW' handler dawdles.
    m0 = await start(0, { ...env(0), E2E_SLOW_MS: String(SLOW_MS) });
    const founder = m0.process.events.find((e) => e.event === 'started')!['address'] as string;
    [m1, m2] = (await Promise.all([1, 2].map((i) => start(i, { ...env(i), E2E_FOUNDER: founder })))) as [Member, Member];
    const all = [m0, m1, m2];
    const ids = all.map((m) => m.id);
    await until('one view of three', () => infos(all), (i) => sameView(i, 3));

    // leader: the founder, the same at all three; only it acts as leader (once its lease holds).
    const leaders = await until('the leader to hold its lease', () => infos(all), (i) => i[0]!.isLeader);
    assert.deepEqual(leaders.map((i) => i.leader), [m0.id, m0.id, m0.id]);
    assert.deepEqual(leaders.map((i) => i.isLeader), [true, false, false]);

    // balancer: one owner per key, computed alike everywhere without messages.
    const owners = await Promise.all(all.map((m) => m.call<Record<string, string>>('owners', KEYS)));
    assert.deepEqual(owners[1], owners[0]);
    assert.deepEqual(owners[2], owners[0]);
    assert.deepEqual(new Set(Object.values(owners[0]!)), new Set(ids), 'every member owns some of the keys');
    ownersBefore = owners[0]!;

    // rpc: the filters, from each member; a TIMEOUT while member 0's handler dawdles; 'majority' then needs only the other two.
    const senders = (result: { replies: { sender: string }[] }) => result.replies.map((r) => r.sender).sort();
    const everyone = await m1.call('rpcCall', 'WHO', 'all');
    assert.deepEqual(senders(everyone), [...ids].sort());
    assert.deepEqual(everyone.replies.find((r: any) => r.sender === m2.id).data, { member: m2.id, kind: 'm2' });
    assert.equal((await m2.call('rpcCall', 'WHO', 'first')).replies.length, 1);
    assert.ok((await m0.call('rpcCall', 'WHO', 'majority')).replies.length >= 2);
    const predicate = await m0.call('rpcCall', 'WHO', { from: m2.id });
    assert.ok(predicate.replies.some((r: any) => r.sender === m2.id), 'the predicate held on the replies returned');
    const timedOutAt = Date.now();
    assert.deepEqual(await m1.call('rpcCall', 'SLOW', 'all', 500), { error: 'TIMEOUT' });
    assert.ok(Date.now() - timedOutAt < SLOW_MS, 'the call gave up at its timeout, before the slow reply');
    const majority = await m2.call('rpcCall', 'SLOW', 'majority', 2000);
    assert.deepEqual(senders(majority), [m1.id, m2.id].sort(), 'the two prompt members make the majority');

    // token: all three contend at once; sections never overlap on the runner's clock, generations rise.
    const tokens = await Promise.all(all.map((m) => m.call<number[]>('tokenRounds', 3, 20)));
    assert.deepEqual(tokens.map((t) => t.length), [3, 3, 3]);
    const tokenSections = checkSections('token');
    assert.equal(tokenSections.length, 9);
    assert.equal(new Set(tokenSections.map((s) => s.member)).size, 3);

    // snapshot: payments fly between all three while member 1 takes a snapshot; the cut conserves money.
    await checkSnapshotAmidPayments(all, m1, ids, 3 * INITIAL_BALANCE);

    // checkpoint: replicas written by all three, one cut saved in every member's files; later writes are not in it.
    await Promise.all(all.map((m, i) => m.call('replicate', `m${i}`, 10)));
    const replicas = await until(
      'identical replicas',
      () => Promise.all(all.map((m) => m.call<Replicas>('replicas'))),
      (r) => r.every((x) => x.log.length === 30 && JSON.stringify(x.versions) === JSON.stringify(r[0]!.versions)),
    );
    const info = await m2.call('takeCheckpoint');
    assert.equal(info.seq, 1);
    checkpointed = { ...replicas[0]!, loads: [] };
    await m1.call('replicate', 'after-checkpoint', 3);
  });

  it('the leader SIGKILLed while holding the token: new leader, token regenerated, only its keys move; then all SIGKILLed, one restarted alone restores the checkpoint', { timeout: 40_000 }, async () => {
    const held = await m0.call<number>('tokenHold');
    const queued = [m1, m2].map((m) => m.call<number[]>('tokenRounds', 1, 20));
    await new Promise((resolve) => setTimeout(resolve, 200)); // their requests reach the holder
    const killedAt = Date.now();
    await kill(m0);
    endSectionsOf(m0.id, killedAt);
    const survivors = [m1, m2];
    const [t1, t2] = await Promise.all(queued);
    const [oldest, younger] = (await until('one view of the two survivors', () => infos(survivors), (i) => sameView(i, 2)))[0]!.members as [string, string];

    // leader: both name the oldest survivor (members 1 and 2 joined together: either); it acts as leader once the dead leader's lease ran out.
    const leaders = await until('the new leader to hold its lease', () => infos(survivors), (i) => i.some((x) => x.isLeader));
    assert.deepEqual(leaders.map((i) => i.leader), [oldest, oldest]);
    assert.deepEqual(leaders.filter((i) => i.isLeader).map((i) => i.memberId), [oldest]);
    assert.deepEqual([oldest, younger].sort(), [m1.id, m2.id].sort());

    // token: regenerated after the kill; both survivors held it, above the dead holder's generation.
    const later = checkSections('token').filter((s) => s.member !== m0.id && s.enterMs > killedAt);
    assert.deepEqual(later.map((s) => s.member).sort(), [m1.id, m2.id].sort());
    for (const s of later) assert.ok(s.fence > held, `token ${JSON.stringify(s)} above the dead holder's ${held}`);
    assert.deepEqual([t1!.length, t2!.length], [1, 1]);

    // balancer: the survivors agree; only the dead member's keys moved.
    const moved = await checkOnlyDeadKeysMoved(survivors, ownersBefore, m0.id, [m1.id, m2.id]);
    assert.equal((await m2.call('rpcCall', 'WHO', 'all')).replies.length, 2, 'the dead replier is gone from "all"');
    console.log(`# failover: token regenerated ${Math.min(...later.map((s) => s.enterMs)) - killedAt} ms after the kill, ${moved} of ${KEYS.length} keys moved`);

    // checkpoint: every process SIGKILLed; member 1 restarted alone on its directory founds the group and restores the cut.
    await Promise.all(survivors.map(kill));
    const port = await freePort();
    const alone = await start(1, { E2E_PORT: String(port), E2E_PEERS: `udp:127.0.0.1:${port}` });
    const restored = await alone.call('restored');
    assert.ok(restored, 'a checkpoint was restored');
    assert.equal(restored.seq, 1);
    const info = await alone.call<Info>('info');
    assert.deepEqual(info.members, [info.memberId], 'it founded the group alone');
    const replicas = await alone.call<Replicas>('replicas');
    assert.deepEqual(replicas.loads.sort(), ['counter:checkpoint', 'log:checkpoint', 'map:checkpoint']);
    assert.deepEqual({ ...replicas, loads: [] }, checkpointed, 'exactly the checkpointed replicas, none of the later writes');
    await alone.call('close');
  });
});
