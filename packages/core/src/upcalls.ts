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

/** What both upcalls share: the message's place, and its id made once, when first read. */
abstract class MessageUpcall {
  private madeId: string | undefined;

  constructor(
    readonly sender: MemberId,
    readonly viewId: number,
    /** The seqno of its first unit in its sender's stream of the view (a pack is one unit). */
    readonly seqno: number,
    /** Its place in a packed unit; -1 for a unit of one message. */
    readonly part: number,
  ) {}

  get id(): string {
    return (this.madeId ??= messageId(this.sender, this.viewId, this.seqno, this.part));
  }
}

export class DeliverUpcall extends MessageUpcall {
  readonly type = 'deliver' as const;

  constructor(viewId: number, sender: MemberId, readonly order: Order, readonly payload: Uint8Array, seqno: number, part: number) {
    super(sender, viewId, seqno, part);
  }
}

export class SentUpcall extends MessageUpcall {
  readonly type = 'sent' as const;

  constructor(readonly localId: number, sender: MemberId, viewId: number, seqno: number, part: number) {
    super(sender, viewId, seqno, part);
  }
}
