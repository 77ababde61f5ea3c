/**
 * The safety checker of replicated data, over a history recorded on the virtual clock:
 *
 * 1. agreement: the members of the final view applied the same update at every version they both
 *    applied (one total order), each member's versions run on without gaps or repeats, and no
 *    update is applied at two versions;
 * 2. convergence: after quiescence every member of the final view holds the same version, digest
 *    and content;
 * 3. durability: an update acknowledged to its caller is in the final content when its caller is in
 *    the final view (never excluded), and always when it was sent safe (uniform delivery).
 */
import type { MemberId } from '@synod/core';

export interface AppliedRecord {
  readonly atMs: number;
  readonly member: MemberId;
  readonly replica: string;
  readonly version: number;
  readonly updateId: string;
}
export interface LoadRecord {
  readonly atMs: number;
  readonly member: MemberId;
  readonly replica: string;
  readonly version: number;
}
export interface AckRecord {
  readonly atMs: number;
  readonly member: MemberId;
  readonly replica: string;
  readonly safe: boolean;
  /** Something the final content must contain: a map key, a log entry. */
  readonly token: string;
}
export interface FinalRecord {
  readonly member: MemberId;
  readonly replica: string;
  readonly version: number;
  readonly digest: number;
  /** Canonical text of the content. */
  readonly content: string;
  /** The tokens the content holds. */
  readonly tokens: ReadonlySet<string>;
}

export interface ReplicaHistory {
  readonly applied: AppliedRecord[];
  readonly loads: LoadRecord[];
  readonly acked: AckRecord[];
  readonly final: FinalRecord[];
}

export function emptyHistory(): ReplicaHistory {
  return { applied: [], loads: [], acked: [], final: [] };
}

/** Throws an Error naming the first violation. */
export function checkReplicaHistory(history: ReplicaHistory): void {
  const finalMembers = new Set(history.final.map((record) => record.member));
  const replicas = new Set(history.final.map((record) => record.replica));
  for (const replica of replicas) {
    const finals = history.final.filter((record) => record.replica === replica);
    // 1. agreement among the final members, per version
    const atVersion = new Map<number, AppliedRecord>();
    const versionOf = new Map<string, number>();
    for (const record of history.applied) {
      if (record.replica !== replica || !finalMembers.has(record.member)) continue;
      const other = atVersion.get(record.version);
      if (other && other.updateId !== record.updateId) {
        throw new Error(`${replica}: version ${record.version} is ${other.updateId} at ${other.member} but ${record.updateId} at ${record.member}`);
      }
      atVersion.set(record.version, record);
      const where = versionOf.get(record.updateId);
      if (where !== undefined && where !== record.version) {
        throw new Error(`${replica}: ${record.updateId} applied at versions ${where} and ${record.version}`);
      }
      versionOf.set(record.updateId, record.version);
    }
    // ...each member's versions run on from its last load, without gaps or repeats
    for (const member of finalMembers) {
      const events = [
        ...history.loads.filter((r) => r.replica === replica && r.member === member).map((r) => ({ ...r, load: true })),
        ...history.applied.filter((r) => r.replica === replica && r.member === member).map((r) => ({ ...r, load: false })),
      ].sort((a, b) => a.atMs - b.atMs);
      let version: number | undefined;
      for (const event of events) {
        if (event.load) version = event.version;
        else {
          if (version !== undefined && event.version !== version + 1) {
            throw new Error(`${replica}: ${member} applied version ${event.version} after ${version}`);
          }
          version = event.version;
        }
      }
    }
    // 2. convergence
    const first = finals[0];
    if (!first) continue;
    for (const record of finals) {
      if (record.version !== first.version || record.digest !== first.digest || record.content !== first.content) {
        throw new Error(
          `${replica}: ${record.member} ends at version ${record.version} digest ${record.digest} (${record.content.slice(0, 200)}), ` +
            `${first.member} at ${first.version} digest ${first.digest} (${first.content.slice(0, 200)})`,
        );
      }
    }
    // 3. durability of acknowledged updates
    for (const ack of history.acked) {
      if (ack.replica !== replica || !(ack.safe || finalMembers.has(ack.member))) continue;
      if (!first.tokens.has(ack.token)) {
        throw new Error(`${replica}: ${ack.safe ? 'safe ' : ''}update ${ack.token} acknowledged to ${ack.member} at t=${ack.atMs} is lost`);
      }
    }
  }
}
