/**
 * Group checkpoints in the simulator: members update a replicated map and log and take checkpoints
 * under loss and a crash, then every member crashes; a fresh group restarts from one old member's
 * disk (a memory storage per "disk", outliving its peer). The checker, over the recorded history:
 *
 * 1. one cut: every member that cut checkpoint n cut it at the same versions and digests;
 * 2. a restore loads exactly a cut: the versions and digests of checkpoint n as cut, and n is the
 *    latest checkpoint that disk saved;
 * 3. a take() that resolved at a member was saved to that member's disk;
 * 4. the restarted group converges (every member of the new group holds the restored state).
 *
 * A failure names its seed: `SEED=17 node --conditions=source --import tsx --test <this file>`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group, Peer } from '@synod/peer';
import { World } from '@synod/sim/world';
import { checkpoint, type GroupCheckpoint } from '../src/checkpoint.js';
import { replicated, type ReplicatedLog, type ReplicatedMap } from '../src/replicated.js';
import { memoryDisk, simTiming, checkSeeds } from './replicated-harness.js';

const SEEDS = process.env['SEED'] ? [Number(process.env['SEED'])] : Array.from({ length: Number(process.env['SEEDS'] ?? 15) }, (_, i) => 3000 + i);

/** The versions and digests of the parts at a cut. */
type Cut = string;

export interface CheckpointHistory {
  /** Cuts: at `disk`, checkpoint `seq` was cut with these part versions. */
  readonly cuts: { readonly atMs: number; readonly disk: number; readonly seq: number; readonly cut: Cut }[];
  /** Saves reaching a disk. */
  readonly saved: { readonly atMs: number; readonly disk: number; readonly seq: number }[];
  /** take() resolved at the member using `disk`. */
  readonly acked: { readonly atMs: number; readonly disk: number; readonly seq: number }[];
  /** A restarted founder restored `seq` from `disk`, its parts then at `cut`. */
  readonly restores: { readonly disk: number; readonly seq: number; readonly cut: Cut }[];
}

export function checkCheckpointHistory(history: CheckpointHistory): void {
  const cutOf = new Map<number, Cut>();
  for (const record of history.cuts) {
    const other = cutOf.get(record.seq);
    if (other !== undefined && other !== record.cut) throw new Error(`checkpoint ${record.seq}: disk ${record.disk} cut ${record.cut}, another ${other}`);
    cutOf.set(record.seq, record.cut);
  }
  for (const ack of history.acked) {
    if (!history.saved.some((save) => save.disk === ack.disk && save.seq === ack.seq && save.atMs <= ack.atMs)) {
      throw new Error(`checkpoint ${ack.seq}: acknowledged at disk ${ack.disk} but never saved there`);
    }
  }
  for (const restore of history.restores) {
    const latest = Math.max(0, ...history.saved.filter((save) => save.disk === restore.disk).map((save) => save.seq));
    if (restore.seq !== latest) throw new Error(`disk ${restore.disk}: restored checkpoint ${restore.seq}, but its latest save is ${latest}`);
    if (cutOf.get(restore.seq) !== restore.cut) throw new Error(`checkpoint ${restore.seq}: restored ${restore.cut}, cut ${cutOf.get(restore.seq)}`);
  }
}

interface Member {
  readonly disk: number;
  readonly peer: Peer;
  group?: Group;
  map?: ReplicatedMap;
  log?: ReplicatedLog;
  tool?: GroupCheckpoint;
}

const cutOfMember = (member: Member): Cut => `map@${member.map!.version}#${member.map!.digest} log@${member.log!.version}#${member.log!.digest}`;

async function run(seed: number): Promise<{ history: CheckpointHistory; faults: string[] }> {
  const world = new World({ seed, duplicateRate: 0.03 });
  const prng = world.prng.derive('workload');
  world.lossRate = prng.pick([0, 0.03, 0.08]);
  const faults = [`loss ${world.lossRate}`];
  const disks = [memoryDisk(), memoryDisk(), memoryDisk(), memoryDisk()];
  const history: CheckpointHistory = { cuts: [], saved: [], acked: [], restores: [] };

  const start = async (disk: number): Promise<Member> => {
    const member: Member = { disk, peer: await world.peer() };
    const joined = member.peer.join('g', {
      ...simTiming,
      setup: (group) => {
        member.group = group;
        member.map = replicated(group, 'm', 'map');
        member.log = replicated(group, 'l', 'log');
        member.tool = checkpoint(group, { storage: disks[disk]!, parts: [member.map, member.log] });
        member.tool.on('checkpoint', (event) => {
          if (event.type === 'cut') history.cuts.push({ atMs: world.nowMs, disk, seq: event.seq, cut: cutOfMember(member) });
          if (event.type === 'saved') history.saved.push({ atMs: world.nowMs, disk, seq: event.seq });
          if (event.type === 'restored') history.restores.push({ disk, seq: event.seq, cut: cutOfMember(member) });
        });
      },
    });
    joined.catch(() => undefined);
    await world.until(() => member.group?.view !== undefined, `disk ${disk}'s peer to join`);
    return member;
  };

  // First life: three members, updates and checkpoints, a crash, a joiner on a fourth disk.
  const members = [await start(0), await start(1), await start(2)];
  await world.until(() => members.every((m) => m.group!.view?.members.length === 3), 'a view of three');
  let token = 0;
  for (let step = 0; step < 40; step++) {
    for (const member of members.filter((m) => world.isAlive(m.peer))) {
      if (prng.chance(0.5)) member.map!.set(`k${prng.int(0, 20)}`, token++).catch(() => undefined);
      if (prng.chance(0.3)) member.log!.append(token++).catch(() => undefined);
      if (prng.chance(0.06)) {
        const disk = member.disk;
        member.tool!.take().then(
          (info) => history.acked.push({ atMs: world.nowMs, disk, seq: info.seq }),
          () => undefined,
        );
      }
    }
    if (step === 20 && prng.chance(0.5)) {
      const victim = prng.pick(members.slice(0, 3));
      world.crash(victim.peer);
      faults.push(`crash disk ${victim.disk} at ${world.nowMs}`);
      members.push(await start(3));
      faults.push(`join disk 3 at ${world.nowMs}`);
    }
    await world.run(prng.int(2, 30));
  }
  world.lossRate = 0;
  await world.run(200);
  // Everybody dies.
  for (const member of members) world.crash(member.peer);
  faults.push(`all crash at ${world.nowMs}`);

  // Second life: a fresh group from one old disk that saved something (if any did), then two joiners.
  const savedDisks = [...new Set(history.saved.map((save) => save.disk))];
  const founderDisk = savedDisks.length > 0 ? prng.pick(savedDisks) : 0;
  faults.push(`restart from disk ${founderDisk}`);
  const founder = await start(founderDisk);
  await world.settle(founder.tool!.restored, 'the restore');
  const others = [await start((founderDisk + 1) % 4), await start((founderDisk + 2) % 4)];
  const group = [founder, ...others];
  await world.until(() => group.every((m) => m.group!.view?.members.length === 3), 'the new group of three');
  await world.until(() => group.every((m) => cutOfMember(m) === cutOfMember(founder)), 'the new group to agree');
  for (const member of others) assert.equal((await world.settle(member.tool!.restored)) ?? undefined, undefined, 'a joiner restores nothing');
  if (history.restores.length === 0) assert.equal(founder.map!.version, 0, 'nothing saved: the group starts empty');
  return { history, faults };
}

describe('group checkpoints in the simulator', () => {
  it(`every member cuts the same state; a group restarted from nothing restores its latest checkpoint (${SEEDS.length} seeds)`, { timeout: 120_000 }, async () => {
    let cuts = 0;
    let restores = 0;
    const started = performance.now();
    await checkSeeds(SEEDS, run, checkCheckpointHistory, (history, faults) => {
      cuts += history.cuts.length;
      restores += history.restores.length;
    });
    console.log(`# checkpoint: ${SEEDS.length} seeds, ${cuts} cuts, ${restores} restores after a full crash, ${Math.round(performance.now() - started)} ms`);
    assert.ok(restores > SEEDS.length / 2);
  });

  it('the checker catches two cuts of one checkpoint, a stale restore and an unsaved acknowledgement', () => {
    const good = (): CheckpointHistory => ({
      cuts: [
        { atMs: 1, disk: 0, seq: 1, cut: 'm@3' },
        { atMs: 1, disk: 1, seq: 1, cut: 'm@3' },
        { atMs: 5, disk: 0, seq: 2, cut: 'm@7' },
      ],
      saved: [
        { atMs: 2, disk: 0, seq: 1 },
        { atMs: 2, disk: 1, seq: 1 },
        { atMs: 6, disk: 0, seq: 2 },
      ],
      acked: [{ atMs: 6, disk: 0, seq: 2 }],
      restores: [{ disk: 0, seq: 2, cut: 'm@7' }],
    });
    checkCheckpointHistory(good());
    const split = good();
    split.cuts[1] = { atMs: 1, disk: 1, seq: 1, cut: 'm@4' };
    assert.throws(() => checkCheckpointHistory(split), /checkpoint 1: disk 1 cut m@4/);
    const stale = good();
    stale.restores[0] = { disk: 0, seq: 1, cut: 'm@3' };
    assert.throws(() => checkCheckpointHistory(stale), /latest save is 2/);
    const wrongState = good();
    wrongState.restores[0] = { disk: 0, seq: 2, cut: 'm@6' };
    assert.throws(() => checkCheckpointHistory(wrongState), /restored m@6, cut m@7/);
    const unsaved = good();
    unsaved.acked.push({ atMs: 9, disk: 1, seq: 2 });
    assert.throws(() => checkCheckpointHistory(unsaved), /never saved there/);
  });
});
