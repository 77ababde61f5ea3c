/** Membership: views agree (no split brain) and state transfer hands joiners the right state. */
import type { MemberId } from '@synod/core';
import type { MemberHistory } from '../history.js';
import { viewIdOfMessage } from '../history.js';
import { Report, sameList, sample, type Violation } from './report.js';

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
