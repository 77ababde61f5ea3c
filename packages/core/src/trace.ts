import type { MemberId, Order, Upcall } from './api.js';

/** One line of a member's JSONL trace. The format is public: independent checkers read it. */
export type TraceRecord =
  | { t: 'view'; group: string; member: MemberId; viewId: number; members: MemberId[] }
  | {
      t: 'deliver';
      group: string;
      member: MemberId;
      viewId: number;
      sender: MemberId;
      order: Order;
      id: string;
    };

/** The trace record of an upcall, or undefined for upcalls the trace does not record. */
export function traceRecord(group: string, member: MemberId, upcall: Upcall): TraceRecord | undefined {
  switch (upcall.type) {
    case 'view':
      return { t: 'view', group, member, viewId: upcall.view.viewId, members: [...upcall.view.members] };
    case 'deliver':
      return {
        t: 'deliver',
        group,
        member,
        viewId: upcall.viewId,
        sender: upcall.sender,
        order: upcall.order,
        id: upcall.id,
      };
    default:
      return undefined;
  }
}
