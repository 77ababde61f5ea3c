/** Liveness: the end of the quiet phase. */
import type { MemberId } from '@synod/core';
import type { MemberHistory } from '../history.js';
import { viewIdOfMessage } from '../history.js';
import { indexOf, Report, sameList, sample, type Violation } from './report.js';

/** What the runner observed at the end of the quiet phase. */
export interface FinalState {
  readonly converged: boolean;
  /** Why it did not converge, or a summary of how it did. */
  readonly note: string;
  readonly finalView?: { readonly viewId: number; readonly members: readonly MemberId[] };
  readonly live: readonly {
    readonly member: MemberId;
    readonly viewId: number | undefined;
    readonly bufferedBytes: number;
    /** Messages the app still holds or the member accepted but never reported 'sent'. */
    readonly unsentMessages: number;
  }[];
  readonly bufferBoundBytes: number;
}

/** The end of the quiet phase: one view of exactly the live members, nothing unsent or
 *  undelivered, and bounded buffers. */
export function checkQuiescence(histories: readonly MemberHistory[], final: FinalState): Violation[] {
  const report = new Report('liveness');
  const index = indexOf(histories);
  if (!final.converged) report.add(`did not converge: ${final.note}`);
  const finalView = final.finalView;
  if (finalView !== undefined) {
    const live = final.live.map((m) => m.member).sort();
    if (!sameList(live, [...finalView.members].sort())) {
      report.add(`final view ${finalView.viewId} is [${finalView.members.join(',')}] but the live members are [${live.join(',')}]`);
    }
    for (const sender of finalView.members) {
      for (const record of index.byMember.get(sender)?.sent ?? []) {
        if (record.id === undefined || viewIdOfMessage(record.id) !== finalView.viewId) continue;
        const missing = finalView.members.filter((m) => !index.position.get(m)?.has(record.id as string));
        if (missing.length > 0) report.add(`${sample(missing)} never delivered ${record.id} of the final view`);
      }
    }
  }
  for (const member of final.live) {
    if (finalView !== undefined && member.viewId !== finalView.viewId) {
      report.add(`${member.member} ended in view ${member.viewId ?? 'none'}, not the final view ${finalView.viewId}`);
    }
    if (member.unsentMessages > 0) report.add(`${member.member} ended with ${member.unsentMessages} unsent messages`);
    if (member.bufferedBytes > final.bufferBoundBytes) {
      report.add(`${member.member} buffers ${member.bufferedBytes} bytes after the quiet phase (bound ${final.bufferBoundBytes})`);
    }
  }
  return report.done();
}
