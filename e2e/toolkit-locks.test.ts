/**
 * Three Node processes over UDP contend for one lock of the toolkit, each appending (fencing token,
 * process) lines to one shared log under it; one holder is SIGKILLed inside its critical section.
 * The survivors go on, the lock is re-granted (after the dead holder's lease), and in the log the
 * fencing tokens strictly increase and no two critical sections overlap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killMembers, spawnMember, udpPeers, type MemberProcess } from './process.js';

const MEMBER_SCRIPT = fileURLToPath(new URL('./toolkit-locks/member.ts', import.meta.url));

describe('toolkit locks across Node processes over UDP', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'synod-e2e-locks-'));
  after(() => {
    killMembers();
    rmSync(scratch, { recursive: true, force: true });
  });

  // A member stops (leaves the group) when its stdin closes.
  const start = (index: number, env: Record<string, string>) =>
    spawnMember(MEMBER_SCRIPT, { name: `member ${index}`, env: { ...env, E2E_INDEX: String(index) }, stdin: 'pipe' });

  it('a SIGKILLed holder’s lock is re-granted; fencing tokens increase; critical sections never overlap', { timeout: 90_000 }, async () => {
    const { ports, peers } = await udpPeers(3);
    const log = join(scratch, 'log');
    const env = (i: number) => ({ E2E_PORT: String(ports[i]), E2E_PEERS: peers, E2E_LOG: log });
    const members = [start(0, env(0))];
    const founder = (await members[0]!.next((e) => e.event === 'joined', 'the founder to join'))['address'] as string;
    for (const i of [1, 2]) members.push(start(i, { ...env(i), E2E_FOUNDER: founder }));
    const holds = (m: MemberProcess) => m.events.filter((e) => e.event === 'holding').length;
    for (const [i, member] of members.entries()) await member.next((e) => e.event === 'holding' && e.grants >= 3, `member ${i} to hold the lock 3 times`, 45_000);

    // Kill member 1 inside its critical section (its 'holding' report comes before its 30 ms sleep).
    const victim = members[1]!;
    const seen = holds(victim);
    const killedHolding = await victim.next((e) => e.event === 'holding' && victim.events.filter((x) => x.event === 'holding').indexOf(e) >= seen, 'the victim to hold again');
    victim.child.kill('SIGKILL');
    const survivors = [members[0]!, members[2]!];
    const before = survivors.map(holds);
    for (const [s, member] of survivors.entries()) {
      await member.next(() => holds(member) >= before[s]! + 3, `survivor ${s} to hold the lock 3 more times`, 45_000);
    }
    for (const member of survivors) member.child.stdin!.end();
    await Promise.all(survivors.map((member) => member.next((e) => e.event === 'left', 'leave')));

    const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => {
      const [token, process, what, atMs] = line.split(' ');
      return { token: Number(token), process: Number(process), what: what!, atMs: Number(atMs) };
    });
    let open: (typeof lines)[number] | undefined;
    let lastToken = 0;
    let victimUnmatched = 0;
    for (const line of lines) {
      if (line.what === 'begin') {
        if (open) {
          // Only the killed process may leave a section unfinished, and only the one it died in.
          assert.equal(open.process, 1, `section ${open.token} of process ${open.process} overlaps ${line.token}`);
          assert.equal(open.token, killedHolding.fencingToken);
          victimUnmatched++;
        }
        assert.ok(line.token > lastToken, `fencing token ${line.token} after ${lastToken}`);
        lastToken = line.token;
        open = line;
      } else {
        assert.ok(open && open.token === line.token && open.process === line.process, `end of ${line.token} without its begin`);
        open = undefined;
      }
    }
    assert.equal(victimUnmatched, 1, 'the victim died inside its critical section, and the lock went on');
    const after = lines.filter((line) => line.token > killedHolding.fencingToken && line.what === 'begin');
    assert.ok(after.length >= 6, `${after.length} sections after the kill`);
    assert.ok(new Set(after.map((line) => line.process)).size === 2, 'both survivors held it after the kill');
  });
});
