/**
 * What the simulator records about each member incarnation: the upcalls its app processed, in
 * order (views and deliveries carry the fields of the public JSONL trace, plus what the app learnt
 * from the payload and its state), and the messages it sent. Checkers are pure functions of these.
 */
import type { MemberId, Order, TraceRecord } from '@synod/core';

export type HistoryEvent =
  | {
      readonly t: 'view';
      readonly atMs: number;
      readonly viewId: number;
      readonly members: readonly MemberId[];
      readonly joined: readonly MemberId[];
      readonly left: readonly MemberId[];
      /** The app state digest when the view was installed (before its deliveries). */
      readonly state: string;
    }
  | {
      readonly t: 'deliver';
      readonly atMs: number;
      readonly viewId: number;
      readonly sender: MemberId;
      readonly order: Order;
      readonly id: string;
      /** 'ok', or why the payload failed its integrity check. */
      readonly integrity: string;
      /** From the payload (undefined when it did not decode). */
      readonly origin?: MemberId;
      readonly appSeq?: number;
      readonly payloadOrder?: Order;
    }
  | { readonly t: 'loadState'; readonly atMs: number; readonly state: string; readonly integrity: string }
  | { readonly t: 'sent'; readonly atMs: number; readonly localId: number; readonly id: string }
  | { readonly t: 'block'; readonly atMs: number }
  | { readonly t: 'minority'; readonly atMs: number; readonly viewId: number }
  | { readonly t: 'majority'; readonly atMs: number; readonly viewId: number }
  | { readonly t: 'excluded'; readonly atMs: number; readonly reason: string }
  /** `cutOff`: excluded while leaving (its last view went on without it; see the core's 'left'). */
  | { readonly t: 'left'; readonly atMs: number; readonly cutOff: boolean };

/** A message the app handed to send() and the member accepted. */
export interface SentRecord {
  readonly appSeq: number;
  readonly order: Order;
  readonly sizeBytes: number;
  readonly localId: number;
  readonly acceptedAtMs: number;
  /** events.length when send() accepted it: the deliveries before it are its causal past. */
  readonly eventsBefore: number;
  /** The group-wide id from the 'sent' upcall; undefined if it never left the send queue. */
  id?: string;
}

export type MemberFate = 'live' | 'crashed' | 'left' | 'excluded' | 'failed';

export interface MemberHistory {
  readonly member: MemberId;
  readonly node: number;
  readonly group: string;
  readonly events: HistoryEvent[];
  readonly sent: SentRecord[];
  fate: MemberFate;
}

export function newHistory(member: MemberId, node: number, group: string): MemberHistory {
  return { member, node, group, events: [], sent: [], fate: 'live' };
}

/** Parses the view id out of a message id `${sender}:${viewId}:${seqno}`. */
export function viewIdOfMessage(id: string): number | undefined {
  const last = id.lastIndexOf(':');
  const previous = last > 0 ? id.lastIndexOf(':', last - 1) : -1;
  if (previous < 0) return undefined;
  const viewId = Number(id.slice(previous + 1, last));
  return Number.isInteger(viewId) ? viewId : undefined;
}

/** The history as lines of the public JSONL trace format (views and deliveries only). */
export function traceRecords(history: MemberHistory): TraceRecord[] {
  const records: TraceRecord[] = [];
  for (const event of history.events) {
    if (event.t === 'view') {
      records.push({
        t: 'view',
        group: history.group,
        member: history.member,
        viewId: event.viewId,
        members: [...event.members],
      });
    } else if (event.t === 'deliver') {
      records.push({
        t: 'deliver',
        group: history.group,
        member: history.member,
        viewId: event.viewId,
        sender: event.sender,
        order: event.order,
        id: event.id,
      });
    }
  }
  return records;
}
