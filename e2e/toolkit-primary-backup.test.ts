/**
 * Primary-backup across three Node processes over UDP (toolkit-primary-backup/member.ts): each is a
 * client of a counter service whose state is the log of applied request ids; the primary (the
 * founder, oldest member) is killed with SIGKILL mid-stream, a backup takes over, the clients retry
 * transparently. Every request acknowledged anywhere (the victim's too) is in the survivors' final
 * state exactly once, at the position its response named; the survivors' states are identical.
 * Sockets: run inside a network namespace holding only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killMembers, spawnMember, udpPeers } from './process.js';

const MEMBER_SCRIPT = fileURLToPath(new URL('./toolkit-primary-backup/member.ts', import.meta.url));
const REQUESTS = Number(process.env['E2E_PB_REQUESTS'] ?? 300);
const TIMEOUT_MS = 90_000;

after(killMembers);

// next() waits as long as the test lets it: the members' deadline and the test's timeout bound it.
const start = (index: number, env: Record<string, string>) =>
  spawnMember(MEMBER_SCRIPT, {
    name: `member ${index}`,
    env: { ...env, E2E_INDEX: String(index), E2E_REQUESTS: String(REQUESTS), E2E_DEADLINE_MS: String(TIMEOUT_MS - 5_000) },
    waitMs: Infinity,
  });

describe('primary-backup across three Node processes over UDP', () => {
  it(`${REQUESTS} requests per client; the primary is killed with SIGKILL mid-stream; no acknowledged request lost or run twice`, { timeout: TIMEOUT_MS }, async () => {
    const startedMs = performance.now();
    const { ports, peers } = await udpPeers(3);
    const env = (index: number) => ({ E2E_PORT: String(ports[index]), E2E_PEERS: peers });
    const first = start(0, env(0));
    const founder = (await first.next((e) => e['event'] === 'joined', 'joining'))['address'] as string;
    const members = [first, start(1, { ...env(1), E2E_FOUNDER: founder }), start(2, { ...env(2), E2E_FOUNDER: founder })];
    const views = await Promise.all(members.map((m) => m.next((e) => e['event'] === 'view' && e['members'].length === 3, 'a view of 3')));
    const formedMs = performance.now();
    const victim = members[0]!;
    const victimId = (await victim.next((e) => e['event'] === 'joined', 'joining'))['member'] as string;
    assert.equal(views[0]!['primary'], victimId, 'the founder is the primary');

    // Mid-stream: a quarter of a backup's requests acknowledged.
    await members[1]!.next((e) => e['event'] === 'ack' && e['response'] >= (3 * REQUESTS) / 4, 'a quarter of the requests acknowledged');
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    const killedMs = performance.now();
    const survivors = members.slice(1);
    const finals = await Promise.all(survivors.map((m) => m.next((e) => e['event'] === 'final', 'the final state')));
    for (const survivor of survivors) assert.deepEqual(await survivor.exited, { code: 0, signal: null });

    const takeover = survivors[0]!.events.find((e) => e['event'] === 'view' && !e['members'].includes(victimId));
    assert.ok(takeover && takeover['primary'] !== victimId, 'a backup took over as primary');
    const [log, other] = finals.map((final) => final['log'] as string[]);
    assert.deepEqual(other, log, 'the survivors hold identical states');
    assert.equal(new Set(log).size, log!.length, 'no request ran twice');
    const position = new Map(log!.map((id, at) => [id, at + 1]));
    const acks = members.flatMap((m) => m.events.filter((e) => e['event'] === 'ack'));
    for (const ack of acks) assert.equal(position.get(ack['id']), ack['response'], `acknowledged ${ack['id']} is in the final state where its response said`);
    const victimAcks = victim.events.filter((e) => e['event'] === 'ack').length;
    assert.ok(victimAcks < REQUESTS, 'the primary was killed mid-stream');
    for (const survivor of survivors) assert.equal(survivor.events.filter((e) => e['event'] === 'ack').length, REQUESTS);
    const unacknowledgedRun = log!.filter((id) => id.startsWith('c0-')).length - victimAcks;
    console.log(
      `e2e primary-backup: ${REQUESTS} requests × 3 clients over UDP, group formed in ${Math.round(formedMs - startedMs)} ms, primary killed ${Math.round(killedMs - formedMs)} ms later ` +
        `(${victimAcks} of its own acknowledged; ${unacknowledgedRun} more of its requests took effect unacknowledged); ` +
        `survivors done ${Math.round(performance.now() - killedMs)} ms after the kill; final state ${log!.length} entries, ${acks.length} acknowledgements all in it exactly once; ` +
        `retries answered without rerunning: ${finals.map((f) => f['stats']['duplicates']).join(', ')}; total ${Math.round(performance.now() - startedMs)} ms`,
    );
  });
});
