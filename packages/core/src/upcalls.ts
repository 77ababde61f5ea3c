/**
 * The upcalls sent for every message: 'deliver' at each member and 'sent' at its sender. Their
 * group-wide id is made only when read: most are never read (a trace, a checker or an app that
 * asks does), and two strings per message at each member were a tenth of the data path's garbage.
 */
import type { MemberId, Order } from './api.js';

/** `${sender}:${viewId}:${seqno}`, and `.${part}` for the part-th message of a packed unit. */
export function messageId(sender: MemberId, viewId: number, seqno: number, part: number): string {
  const id = `${sender}:${viewId}:${seqno}`;
  return part < 0 ? id : `${id}.${part}`;
}

export class DeliverUpcall {
  readonly type = 'deliver' as const;
  private madeId: string | undefined;

  constructor(
    readonly viewId: number,
    readonly sender: MemberId,
    readonly order: Order,
    readonly payload: Uint8Array,
    private readonly seqno: number,
    /** Its place in a packed unit; -1 for a unit of one message. */
    private readonly part: number,
  ) {}

  get id(): string {
    return (this.madeId ??= messageId(this.sender, this.viewId, this.seqno, this.part));
  }
}

export class SentUpcall {
  readonly type = 'sent' as const;
  private madeId: string | undefined;

  constructor(
    readonly localId: number,
    private readonly sender: MemberId,
    private readonly viewId: number,
    private readonly seqno: number,
    private readonly part: number,
  ) {}

  get id(): string {
    return (this.madeId ??= messageId(this.sender, this.viewId, this.seqno, this.part));
  }
}
