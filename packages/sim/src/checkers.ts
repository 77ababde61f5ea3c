/**
 * Checkers: pure functions from recorded member histories to violations. Each one states one
 * guarantee of virtual synchrony; checkers.test.ts proves each can fail.
 */
import type { MemberId, Order } from '@synod/core';
import type { HistoryEvent, MemberHistory, SentRecord } from './history.js';
import { viewIdOfMessage } from './history.js';

export interface Violation {
  readonly checker: string;
  readonly message: string;
}

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

const MAX_PER_CHECKER = 8;

class Report {
  readonly violations: Violation[] = [];
  private suppressed = 0;
  constructor(private readonly checker: string) {}
  add(message: string): void {
    if (this.violations.length < MAX_PER_CHECKER) this.violations.push({ checker: this.checker, message });
    else this.suppressed++;
  }
  done(): Violation[] {
    if (this.suppressed > 0) {
      this.violations.push({ checker: this.checker, message: `… and ${this.suppressed} more` });
    }
    return this.violations;
  }
}

type Deliver = Extract<HistoryEvent, { t: 'deliver' }>;

/** Derived facts about the histories, computed once per set of histories. */
interface Index {
  readonly byMember: Map<MemberId, MemberHistory>;
  /** member → viewId → ids delivered while in that view. */
  readonly deliveredIn: Map<MemberId, Map<number, Set<string>>>;
  /** member → id → position in the member's delivery sequence. */
  readonly position: Map<MemberId, Map<string, number>>;
  /** member → viewId → the key of the view it installed under that id (id and membership, so
   *  that after a split brain, which view agreement reports, each side is judged on its own). */
  readonly viewKey: Map<MemberId, Map<number, string>>;
  /** view key of V → the members that installed V and then V+1. */
  readonly survivors: Map<string, { viewId: number; members: MemberId[] }>;
  /** origin#appSeq → the sender's record. */
  readonly sentByOrigin: Map<string, { history: MemberHistory; record: SentRecord }>;
}

const indexCache = new WeakMap<readonly MemberHistory[], Index>();

function indexOf(histories: readonly MemberHistory[]): Index {
  const cached = indexCache.get(histories);
  if (cached) return cached;
  const index: Index = {
    byMember: new Map(),
    deliveredIn: new Map(),
    position: new Map(),
    viewKey: new Map(),
    survivors: new Map(),
    sentByOrigin: new Map(),
  };
  for (const history of histories) {
    index.byMember.set(history.member, history);
    const deliveredIn = new Map<number, Set<string>>();
    const position = new Map<string, number>();
    const viewKey = new Map<number, string>();
    let current: number | undefined;
    let deliveries = 0;
    for (const event of history.events) {
      if (event.t === 'view') {
        if (current !== undefined && event.viewId === current + 1) {
          const key = viewKey.get(current) as string;
          const entry = index.survivors.get(key) ?? { viewId: current, members: [] };
          entry.members.push(history.member);
          index.survivors.set(key, entry);
        }
        current = event.viewId;
        viewKey.set(current, `${current}|${event.members.join(',')}`);
        if (!deliveredIn.has(current)) deliveredIn.set(current, new Set());
      } else if (event.t === 'deliver') {
        if (!position.has(event.id)) position.set(event.id, deliveries);
        deliveries++;
        const set = deliveredIn.get(event.viewId) ?? new Set<string>();
        set.add(event.id);
        deliveredIn.set(event.viewId, set);
      }
    }
    index.deliveredIn.set(history.member, deliveredIn);
    index.viewKey.set(history.member, viewKey);
    index.position.set(history.member, position);
    for (const record of history.sent) {
      index.sentByOrigin.set(`${history.member}#${record.appSeq}`, { history, record });
    }
  }
  indexCache.set(histories, index);
  return index;
}

function sample<T>(items: Iterable<T>, count = 3): string {
  const all = [...items];
  const shown = all.slice(0, count).join(', ');
  return all.length > count ? `${shown} (+${all.length - count} more)` : shown;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item, i) => item === b[i]);

/** One membership per view id (no split brain); each member installs consecutive views of which
 *  it is a member; joined/left and oldest-first order agree with the previous view; deliveries
 *  and sends happen in the view the message id names; nothing follows 'excluded' or 'left'. */
export function checkViewAgreement(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('view-agreement');
  const membership = new Map<number, { members: readonly MemberId[]; seenBy: MemberId }>();
  for (const history of histories) {
    const me = history.member;
    let view: { viewId: number; members: readonly MemberId[] } | undefined;
    let ended: string | undefined;
    for (const event of history.events) {
      if (ended !== undefined) {
        report.add(`${me} had a '${event.t}' upcall after '${ended}'`);
        break;
      }
      if (event.t === 'view') {
        if (view !== undefined && event.viewId !== view.viewId + 1) {
          report.add(`${me} installed view ${event.viewId} after view ${view.viewId}`);
        }
        if (!event.members.includes(me)) report.add(`${me} installed view ${event.viewId} without itself`);
        if (new Set(event.members).size !== event.members.length) {
          report.add(`view ${event.viewId} at ${me} lists a member twice: [${event.members.join(',')}]`);
        }
        const known = membership.get(event.viewId);
        if (known === undefined) membership.set(event.viewId, { members: event.members, seenBy: me });
        else if (!sameList(known.members, event.members)) {
          report.add(
            `split brain: view ${event.viewId} is [${known.members.join(',')}] at ${known.seenBy} ` +
              `but [${event.members.join(',')}] at ${me}`,
          );
        }
        if (view !== undefined && event.viewId === view.viewId + 1) {
          // Oldest first: survivors keep their relative order and newcomers come after them.
          const kept = view.members.filter((m) => event.members.includes(m));
          if (!sameList(kept, event.members.slice(0, kept.length))) {
            report.add(
              `view ${event.viewId} [${event.members.join(',')}] at ${me} does not keep the survivors of view ` +
                `${view.viewId} [${view.members.join(',')}] first and in order`,
            );
          }
          const previous = new Set(view.members);
          const joined = event.members.filter((m) => !previous.has(m));
          const left = view.members.filter((m) => !event.members.includes(m));
          if (!sameList([...joined].sort(), [...event.joined].sort()) || !sameList([...left].sort(), [...event.left].sort())) {
            report.add(
              `${me} view ${event.viewId}: joined [${event.joined.join(',')}] left [${event.left.join(',')}] ` +
                `but the change from view ${view.viewId} is +[${joined.join(',')}] -[${left.join(',')}]`,
            );
          }
        }
        view = { viewId: event.viewId, members: event.members };
      } else if (event.t === 'deliver') {
        if (view === undefined) {
          report.add(`${me} delivered ${event.id} before installing any view`);
          continue;
        }
        if (event.viewId !== view.viewId) {
          report.add(`${me} delivered ${event.id} tagged view ${event.viewId} while in view ${view.viewId}`);
        }
        const sentIn = viewIdOfMessage(event.id);
        if (sentIn !== event.viewId) {
          report.add(`${me} delivered ${event.id} (sent in view ${sentIn}) in view ${event.viewId}`);
        }
        if (!view.members.includes(event.sender)) {
          report.add(`${me} delivered ${event.id} from ${event.sender}, not a member of view ${view.viewId}`);
        }
      } else if (event.t === 'sent') {
        const sentIn = viewIdOfMessage(event.id);
        if (view === undefined || sentIn !== view.viewId) {
          report.add(`${me} reported 'sent' ${event.id} while in view ${view?.viewId ?? 'none'}`);
        }
      } else if (event.t === 'excluded' || event.t === 'left') {
        ended = event.t;
      }
    }
  }
  return report.done();
}

/** Members that install both V and V+1 delivered the same set of messages in V. */
export function checkVirtualSynchrony(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('virtual-synchrony');
  const index = indexOf(histories);
  for (const { viewId, members } of index.survivors.values()) {
    const sets = members.map((m) => index.deliveredIn.get(m)?.get(viewId) ?? new Set<string>());
    const union = new Set<string>();
    for (const set of sets) for (const id of set) union.add(id);
    members.forEach((member, i) => {
      const missing = [...union].filter((id) => !(sets[i] as Set<string>).has(id));
      if (missing.length === 0) return;
      const holders = members.filter((_, j) => (sets[j] as Set<string>).has(missing[0] as string));
      report.add(
        `view ${viewId}→${viewId + 1}: ${member} did not deliver ${sample(missing)} in view ${viewId}, ` +
          `which ${sample(holders)} delivered`,
      );
    });
  }
  return report.done();
}

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
 *  order that the survivors never learnt, so those deliveries are left out; its safe ones count. */
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
    if (last !== undefined && (history.fate === 'live' || history.fate === 'left')) survived.add(last);
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

/** Dynamic uniformity: if any member delivered safe message m in view V, every member that went
 *  from V to V+1 delivered m in V (even if the deliverer then crashed). */
export function checkSafe(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('safe');
  const index = indexOf(histories);
  const reported = new Set<string>();
  for (const history of histories) {
    for (const event of history.events) {
      if (event.t !== 'deliver' || event.order !== 'safe' || reported.has(event.id)) continue;
      const key = index.viewKey.get(history.member)?.get(event.viewId) ?? '';
      for (const survivor of index.survivors.get(key)?.members ?? []) {
        if (index.deliveredIn.get(survivor)?.get(event.viewId)?.has(event.id)) continue;
        reported.add(event.id);
        report.add(
          `${history.member} delivered safe ${event.id} in view ${event.viewId}, but ${survivor} ` +
            `went on to view ${event.viewId + 1} without delivering it`,
        );
      }
    }
  }
  return report.done();
}

/** No member delivers a message id twice, nor the same application message under two ids. */
export function checkNoDuplicates(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('no-duplicates');
  for (const history of histories) {
    const ids = new Set<string>();
    const origins = new Map<string, string>();
    for (const event of history.events) {
      if (event.t !== 'deliver') continue;
      if (ids.has(event.id)) report.add(`${history.member} delivered ${event.id} twice`);
      ids.add(event.id);
      if (event.origin === undefined || event.appSeq === undefined) continue;
      const key = `${event.origin}#${event.appSeq}`;
      const earlier = origins.get(key);
      if (earlier !== undefined && earlier !== event.id) {
        report.add(`${history.member} delivered ${event.origin}'s message #${event.appSeq} as ${earlier} and ${event.id}`);
      }
      origins.set(key, event.id);
    }
  }
  return report.done();
}

/** A message sent in view V by a member that went on to V+1 is delivered in V by every member
 *  that went from V to V+1. (A member that left is not held to this: its 'left' may follow an
 *  exclusion while it was leaving, which loses its last messages like a crash does.) */
export function checkNoLoss(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('no-loss');
  const index = indexOf(histories);
  for (const sender of histories) {
    for (const record of sender.sent) {
      if (record.id === undefined) continue;
      const viewId = viewIdOfMessage(record.id);
      if (viewId === undefined) continue;
      const survivors = index.survivors.get(index.viewKey.get(sender.member)?.get(viewId) ?? '')?.members ?? [];
      if (!survivors.includes(sender.member)) continue;
      for (const receiver of survivors) {
        if (index.deliveredIn.get(receiver)?.get(viewId)?.has(record.id)) continue;
        report.add(
          `${receiver} went from view ${viewId} to ${viewId + 1} without delivering ${record.id}, sent by ` +
            `${sender.member} which also reached view ${viewId + 1}`,
        );
      }
    }
  }
  return report.done();
}

/** Every delivered payload is intact, is what its sender sent under that id and order. */
export function checkIntegrity(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('integrity');
  const index = indexOf(histories);
  for (const history of histories) {
    for (const event of history.events) {
      if (event.t === 'loadState' && event.integrity !== 'ok') {
        report.add(`${history.member} loaded a corrupt state: ${event.integrity}`);
      }
      if (event.t !== 'deliver') continue;
      const where = `${history.member} delivered ${event.id}`;
      if (event.integrity !== 'ok') {
        report.add(`${where} with a corrupt payload: ${event.integrity}`);
        continue;
      }
      if (event.origin !== event.sender) report.add(`${where} from ${event.sender}, but the payload is ${event.origin}'s`);
      if (event.payloadOrder !== event.order) {
        report.add(`${where} as ${event.order}, but it was sent as ${event.payloadOrder}`);
      }
      const sent = index.sentByOrigin.get(`${event.origin}#${event.appSeq}`);
      if (sent === undefined) {
        if (index.byMember.has(event.origin ?? '')) report.add(`${where}: its sender never sent #${event.appSeq}`);
        continue;
      }
      if (sent.record.id !== undefined && sent.record.id !== event.id) {
        report.add(`${where}, but ${event.origin}'s #${event.appSeq} was sent as ${sent.record.id}`);
      } else if (sent.record.id === undefined && sent.history.fate === 'live') {
        report.add(`${where}, but its sender never reported it 'sent'`);
      }
    }
  }
  return report.done();
}

/** Members installing the same view have the same app state. A joiner's state comes from
 *  loadState, which arrives once, before any delivery or later view; a joiner whose transfer is
 *  abandoned (it is then excluded, or crashes) never claims a state, but a live one must get it. */
export function checkStateTransfer(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('state-transfer');
  // By view id and membership: after a split brain (view agreement's to report) each side is
  // judged on its own.
  const states = new Map<string, Map<string, MemberId[]>>();
  const record = (view: { viewId: number; members: string }, state: string, member: MemberId): void => {
    const key = `${view.viewId} [${view.members}]`;
    const byState = states.get(key) ?? new Map<string, MemberId[]>();
    byState.set(state, [...(byState.get(state) ?? []), member]);
    states.set(key, byState);
  };
  for (const history of histories) {
    const me = history.member;
    const firstView = history.events.find((e) => e.t === 'view');
    // Founders start the group (view 1) with no state; anyone else entering an existing group joins.
    const joiner = firstView !== undefined && firstView.viewId > 1 && firstView.members.some((m) => m !== me);
    let loaded = false;
    let views = 0;
    let pending: { viewId: number; members: string; state: string; awaitsLoad: boolean } | undefined;
    const settle = (next: string): void => {
      if (pending === undefined) return;
      if (pending.awaitsLoad) report.add(`${me} joined view ${pending.viewId} and ${next} without loading state`);
      record(pending, pending.state, me);
      pending = undefined;
    };
    for (const event of history.events) {
      if (event.t === 'view') {
        settle(`installed view ${event.viewId}`);
        pending = { viewId: event.viewId, members: event.members.join(','), state: event.state, awaitsLoad: joiner && views++ === 0 };
      } else if (event.t === 'loadState') {
        if (loaded) report.add(`${me} loaded state twice`);
        else if (pending === undefined || !pending.awaitsLoad) report.add(`${me} loaded state after it had delivered messages`);
        loaded = true;
        if (pending !== undefined) {
          pending.state = event.state;
          pending.awaitsLoad = false;
        }
      } else if (event.t === 'deliver') {
        settle(`delivered ${event.id}`);
      }
    }
    if (pending?.awaitsLoad) {
      if (history.fate === 'live') report.add(`${me} joined view ${pending.viewId} and never received its state`);
    } else if (pending !== undefined) {
      record(pending, pending.state, me);
    }
  }
  for (const [view, byState] of states) {
    if (byState.size <= 1) continue;
    const groups = [...byState].map(([state, members]) => `${state} at ${sample(members, 4)}`);
    report.add(`view ${view} installed with different app states: ${groups.join(' | ')}`);
  }
  return report.done();
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

export const safetyCheckers: readonly ((histories: readonly MemberHistory[]) => Violation[])[] = [
  checkViewAgreement,
  checkVirtualSynchrony,
  checkFifo,
  checkCausal,
  checkTotalOrder,
  checkSafe,
  checkNoDuplicates,
  checkNoLoss,
  checkIntegrity,
  checkStateTransfer,
];

export function checkAll(histories: readonly MemberHistory[], final?: FinalState): Violation[] {
  const violations = safetyCheckers.flatMap((check) => check(histories));
  if (final !== undefined) violations.push(...checkQuiescence(histories, final));
  return violations;
}
