/** Ordering: FIFO per sender, causal, and total order (uniform for safe messages). */
import type { MemberId } from '@synod/core';
import type { HistoryEvent, MemberHistory } from '../history.js';
import { viewIdOfMessage } from '../history.js';
import { indexOf, Report, sample, type Deliver, type Violation } from './report.js';

/** Per sender, per view and per order: each member delivers a gap-free prefix of what the sender
 *  sent, in the order it sent it. */
export function checkFifo(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('fifo');
  const index = indexOf(histories);
  const sentLists = new Map<string, { appSeqs: number[]; indexOf: Map<number, number> }>();
  for (const history of histories) {
    for (const record of history.sent) {
      if (record.id === undefined) continue;
      const key = `${history.member}|${viewIdOfMessage(record.id)}|${record.order}`;
      const list = sentLists.get(key) ?? { appSeqs: [], indexOf: new Map<number, number>() };
      list.indexOf.set(record.appSeq, list.appSeqs.length);
      list.appSeqs.push(record.appSeq);
      sentLists.set(key, list);
    }
  }
  for (const history of histories) {
    const next = new Map<string, number>();
    for (const event of history.events) {
      if (event.t !== 'deliver' || event.appSeq === undefined || !index.byMember.has(event.sender)) continue;
      const key = `${event.sender}|${event.viewId}|${event.order}`;
      const list = sentLists.get(key);
      const expectedIndex = next.get(key) ?? 0;
      const actualIndex = list?.indexOf.get(event.appSeq);
      if (list === undefined || actualIndex === undefined) continue; // the integrity checker reports it
      if (actualIndex !== expectedIndex) {
        report.add(
          `${history.member} delivered ${event.sender}'s ${event.order} #${event.appSeq} (${event.id}) in view ` +
            `${event.viewId}, but the next in ${event.sender}'s send order was #${list.appSeqs[expectedIndex] ?? '(none)'}`,
        );
      }
      next.set(key, Math.max(expectedIndex, actualIndex + 1));
    }
  }
  return report.done();
}

/** If a sender had delivered causal message d before sending causal message m in the same view,
 *  every member that delivers m delivers d first. (Earlier views: virtual synchrony covers it;
 *  a sender's own earlier messages: FIFO covers it; older messages of d's sender: FIFO again, so
 *  the latest causal delivery per sender is the whole causal past.) */
export function checkCausal(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('causal');
  const index = indexOf(histories);
  for (const sender of histories) {
    let cursor = 0;
    let viewId: number | undefined;
    const latest = new Map<MemberId, string>();
    for (const record of sender.sent) {
      for (; cursor < record.eventsBefore && cursor < sender.events.length; cursor++) {
        const event = sender.events[cursor] as HistoryEvent;
        if (event.t === 'view') {
          viewId = event.viewId;
          latest.clear();
        } else if (event.t === 'deliver' && event.order === 'causal') {
          latest.set(event.sender, event.id);
        }
      }
      if (record.order !== 'causal' || record.id === undefined) continue;
      if (viewIdOfMessage(record.id) !== viewId) continue;
      const message = record.id;
      for (const receiver of histories) {
        const position = index.position.get(receiver.member) as Map<string, number>;
        const at = position.get(message);
        if (at === undefined) continue;
        for (const dependency of latest.values()) {
          const before = position.get(dependency);
          if (before === undefined || before > at) {
            report.add(
              `${receiver.member} delivered ${message} ` +
                (before === undefined ? 'but never its causal predecessor ' : 'before its causal predecessor ') +
                `${dependency}, which ${sender.member} had delivered before sending it`,
            );
          }
        }
      }
    }
  }
  return report.done();
}

/** Any two members deliver their common total and safe messages in the same relative order, and
 *  the union of all those orders has no cycle. (Every pairwise disagreement is such a cycle, so
 *  the cheap cycle search runs first and the pairwise comparison only explains what it found.)
 *  Total order is not uniform, safe is: a member that delivered 'total' messages in a view it did
 *  not survive (it crashed or was cut off before the next view) may have followed a sequencer
 *  order that the survivors never learnt, so those deliveries are left out; its safe ones count.
 *  A member cut off while leaving did not survive its last view either. */
export function checkTotalOrder(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('total-order');
  const survivedViews = (history: MemberHistory): Set<number> => {
    const survived = new Set<number>();
    let last: number | undefined;
    for (const event of history.events) {
      if (event.t !== 'view') continue;
      if (last !== undefined && event.viewId === last + 1) survived.add(last);
      last = event.viewId;
    }
    // A member that left survived its last view only if the others installed the next one with it;
    // one cut off while leaving (excluded, though it asked to leave) did not.
    const leftCleanly = history.fate === 'left' && !history.events.some((event) => event.t === 'left' && event.cutOff);
    if (last !== undefined && (history.fate === 'live' || leftCleanly)) survived.add(last);
    return survived;
  };
  const sequences = histories.map((history) => {
    const survived = survivedViews(history);
    const counts = (e: Deliver): boolean => e.order === 'safe' || (e.order === 'total' && survived.has(e.viewId));
    return {
      member: history.member,
      ids: history.events.filter((e): e is Deliver => e.t === 'deliver' && counts(e)).map((e) => e.id),
    };
  });
  const successors = new Map<string, Set<string>>();
  const inDegree = new Map<string, number>();
  for (const { ids } of sequences) {
    for (const id of ids) if (!inDegree.has(id)) inDegree.set(id, 0);
    for (let i = 0; i + 1 < ids.length; i++) {
      const from = ids[i] as string;
      const to = ids[i + 1] as string;
      const out = successors.get(from) ?? new Set<string>();
      if (!out.has(to)) {
        out.add(to);
        inDegree.set(to, (inDegree.get(to) ?? 0) + 1);
      }
      successors.set(from, out);
    }
  }
  const ready = [...inDegree].filter(([, degree]) => degree === 0).map(([id]) => id);
  let sorted = 0;
  while (ready.length > 0) {
    const id = ready.pop() as string;
    sorted++;
    for (const next of successors.get(id) ?? []) {
      const degree = (inDegree.get(next) as number) - 1;
      inDegree.set(next, degree);
      if (degree === 0) ready.push(next);
    }
  }
  if (sorted === inDegree.size) return report.done();
  const sets = sequences.map((sequence) => new Set(sequence.ids));
  let explained = false;
  for (let a = 0; a < sequences.length; a++) {
    for (let b = a + 1; b < sequences.length; b++) {
      const setA = sets[a] as Set<string>;
      const setB = sets[b] as Set<string>;
      const seqA = (sequences[a] as { ids: string[] }).ids.filter((id) => setB.has(id));
      const seqB = (sequences[b] as { ids: string[] }).ids.filter((id) => setA.has(id));
      const at = seqA.findIndex((id, i) => id !== seqB[i]);
      if (at >= 0) {
        explained = true;
        report.add(
          `${sequences[a]?.member} and ${sequences[b]?.member} disagree on the total order at common message ` +
            `#${at}: ${seqA[at]} vs ${seqB[at]}`,
        );
      }
    }
  }
  if (!explained) {
    // A cycle can hide from pairwise checks when no two members share all its messages.
    const cyclic = [...inDegree].filter(([, degree]) => degree > 0).map(([id]) => id);
    report.add(`the members' total orders form a cycle through ${sample(cyclic)}`);
  }
  return report.done();
}
