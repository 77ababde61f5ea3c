/**
 * What every checker shares: the violation record, a capped report per checker, and an index of
 * facts derived once from a set of histories (who survived which view, who delivered what).
 */
import type { MemberId } from '@synod/core';
import type { HistoryEvent, MemberHistory, SentRecord } from '../history.js';

export interface Violation {
  readonly checker: string;
  readonly message: string;
}

const MAX_PER_CHECKER = 8;

export class Report {
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

export type Deliver = Extract<HistoryEvent, { t: 'deliver' }>;

/** Derived facts about the histories, computed once per set of histories. */
export interface Index {
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

export function indexOf(histories: readonly MemberHistory[]): Index {
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

export function sample<T>(items: Iterable<T>, count = 3): string {
  const all = [...items];
  const shown = all.slice(0, count).join(', ');
  return all.length > count ? `${shown} (+${all.length - count} more)` : shown;
}

export const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item, i) => item === b[i]);
