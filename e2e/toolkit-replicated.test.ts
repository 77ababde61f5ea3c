/**
 * Replicated data across Node processes over UDP: three processes update one replicated map
 * concurrently, one is killed with SIGKILL mid-stream, a new process joins and receives the map by
 * state transfer; every survivor ends with the identical map (version, digest, content hash), and
 * every update acknowledged to a survivor is in it. Sockets: run inside a network namespace holding
 * only lo (scripts/test.mjs does).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killMembers, spawnMember, udpPeers } from './process.js';

const MEMBER = fileURLToPath(new URL('./toolkit-replicated/member.ts', import.meta.url));
const WRITES = Number(process.env['E2E_WRITES'] ?? 2000);

after(killMembers);

function start(index: number, env: Record<string, string>) {
  const member = spawnMember(MEMBER, { name: `process ${index}`, env: { ...env, E2E_INDEX: String(index) }, waitMs: 40_000 });
  const lastState = () => member.events.filter((event) => event['event'] === 'state').at(-1);
  return Object.assign(member, { lastState });
}

describe('replicated map across Node processes over UDP', () => {
  it(`three writers (${WRITES} keys each), one SIGKILLed mid-stream, a joiner by state transfer: identical maps`, { timeout: 90_000 }, async () => {
    const { ports, peers } = await udpPeers(4);
    const envOf = (i: number, extra: Record<string, string> = {}) => ({ E2E_PORT: String(ports[i]), E2E_PEERS: peers, E2E_DEADLINE_MS: '80000', ...extra });
    const first = start(0, envOf(0, { E2E_WRITES: String(WRITES) }));
    const founder = (await first.next((e) => e['event'] === 'joined', 'joining'))['address'] as string;
    const writers = [first, start(1, envOf(1, { E2E_WRITES: String(WRITES), E2E_FOUNDER: founder })), start(2, envOf(2, { E2E_WRITES: String(WRITES), E2E_FOUNDER: founder }))];
    await Promise.all(writers.map((w) => w.next((e) => e['event'] === 'view' && e['members'].length === 3, 'a view of 3')));
    const victim = writers[2]!;
    await victim.next((e) => e['event'] === 'progress' && e['acked'] >= WRITES / 4, 'a quarter of its writes');
    victim.child.kill('SIGKILL');
    const joiner = start(3, envOf(3, { E2E_FOUNDER: founder }));
    const joined = await joiner.next((e) => e['event'] === 'joined', 'the joiner to join');
    assert.ok(joined['version'] > 0, 'the joiner received the map by state transfer');
    const survivors = [writers[0]!, writers[1]!, joiner];
    await Promise.all(writers.slice(0, 2).map((w) => w.next((e) => e['event'] === 'finished', 'every write acknowledged')));
    // Quiescence: all three report the same state.
    const same = () => {
      const states = survivors.map((s) => s.lastState());
      return states.every((state) => state && state['version'] === states[0]!['version'] && state['hash'] === states[0]!['hash'] && state['digest'] === states[0]!['digest']);
    };
    const deadline = Date.now() + 30_000;
    while (!same() || survivors.some((s) => s.lastState()!['byWriter']['0'] !== WRITES || s.lastState()!['byWriter']['1'] !== WRITES)) {
      if (Date.now() > deadline) assert.fail(`survivors disagree: ${JSON.stringify(survivors.map((s) => s.lastState()))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const final = survivors.map((s) => s.lastState()!);
    console.log(`# final map: version ${final[0]!['version']}, ${final[0]!['size']} keys, by writer ${JSON.stringify(final[0]!['byWriter'])}`);
    for (const state of final) {
      assert.deepEqual(state['byWriter'], final[0]!['byWriter']);
      assert.equal(state['size'], final[0]!['size']);
    }
    assert.ok((final[0]!['byWriter']['2'] ?? 0) >= WRITES / 4 - 20, "the victim's applied writes survive");
    for (const survivor of survivors) survivor.child.kill('SIGTERM');
  });
});
