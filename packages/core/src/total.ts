/**
 * total + safe: sequencer-based total order (JGroups SEQUENCER2 / Isis ABCAST with a sequencer).
 * Senders multicast data themselves; the view's coordinator (member 0) multicasts order units that
 * assign each message its position; members deliver in position order. Safe messages take their
 * position too, but wait at it until both the data and its order unit are stable at every member
 * (dynamic uniformity, as Spread's SAFE and Isis2's SafeSend).
 */
import type { OrderEntry } from './wire.js';

export interface OrderedMessage {
  readonly senderIndex: number;
  readonly firstSeqno: number;
  readonly lastSeqno: number;
  readonly order: 'total' | 'safe';
}

interface Position extends OrderEntry {
  /** Seqno of the sequencer's order unit that carried this entry. */
  readonly orderUnitSeqno: number;
}

export class TotalOrder<M extends OrderedMessage> {
  /** Positions not yet delivered; `nextPosition` indexes the first. Compacted as it advances. */
  private positions: Position[] = [];
  private nextPosition = 0;
  /**
   * Data not yet delivered, per sender index by first seqno (numbers, not composed string keys:
   * this is looked up twice per message). The fifo layer below drops duplicates.
   */
  private readonly data: Map<number, M>[] = [];
  private dataCount = 0;
  /** Entries the sequencer has yet to multicast. */
  private sequencerBacklog: OrderEntry[] = [];

  addData(message: M, isSequencer: boolean): void {
    let ofSender = this.data[message.senderIndex];
    if (ofSender === undefined) {
      for (let i = this.data.length; i <= message.senderIndex; i++) this.data.push(new Map());
      ofSender = this.data[message.senderIndex]!;
    }
    if (ofSender.has(message.firstSeqno)) return;
    ofSender.set(message.firstSeqno, message);
    this.dataCount++;
    if (isSequencer) this.sequencerBacklog.push({ senderIndex: message.senderIndex, messageSeqno: message.firstSeqno });
  }

  addOrder(entries: readonly OrderEntry[], orderUnitSeqno: number): void {
    for (const entry of entries) {
      this.positions.push({ senderIndex: entry.senderIndex, messageSeqno: entry.messageSeqno, orderUnitSeqno });
    }
  }

  private find(senderIndex: number, messageSeqno: number): M | undefined {
    return this.data[senderIndex]?.get(messageSeqno);
  }

  takeSequencerBacklog(maxEntries: number): OrderEntry[] {
    if (this.sequencerBacklog.length <= maxEntries) {
      const all = this.sequencerBacklog;
      this.sequencerBacklog = [];
      return all;
    }
    const batch = this.sequencerBacklog.slice(0, maxEntries);
    this.sequencerBacklog = this.sequencerBacklog.slice(batch.length);
    return batch;
  }

  get hasBacklog(): boolean {
    return this.sequencerBacklog.length > 0;
  }

  /** True when the next message waits only for safe stability. */
  waitingForStability(): boolean {
    const position = this.positions[this.nextPosition];
    if (!position) return false;
    return this.find(position.senderIndex, position.messageSeqno)?.order === 'safe';
  }

  /**
   * Delivers in position order while the data is here and, for safe messages, stable:
   * `stable(senderIndex, seqno)` says whether every member holds that unit.
   */
  takeReady(stable: (senderIndex: number, seqno: number) => boolean): M[] {
    const out: M[] = [];
    while (this.nextPosition < this.positions.length) {
      const position = this.positions[this.nextPosition]!;
      const message = this.find(position.senderIndex, position.messageSeqno);
      if (!message) break;
      if (message.order === 'safe' && !(stable(message.senderIndex, message.lastSeqno) && stable(0, position.orderUnitSeqno))) break;
      this.take(message, out);
      this.nextPosition++;
    }
    if (this.nextPosition > 1024 && this.nextPosition * 2 > this.positions.length) {
      this.positions = this.positions.slice(this.nextPosition);
      this.nextPosition = 0;
    }
    return out;
  }

  /**
   * The end of a view, once every survivor holds every unit up to `cut`: the remaining ordered
   * messages in position order (skipping positions whose data died with a crash), then the
   * unordered ones in a deterministic order. Every survivor computes the same sequence.
   */
  takeFinal(cut: readonly number[]): M[] {
    const out: M[] = [];
    const withinCut = (message: M) => message.lastSeqno <= (cut[message.senderIndex] ?? 0);
    for (; this.nextPosition < this.positions.length; this.nextPosition++) {
      const position = this.positions[this.nextPosition]!;
      if (position.orderUnitSeqno > (cut[0] ?? 0)) break;
      const message = this.find(position.senderIndex, position.messageSeqno);
      if (message && withinCut(message)) this.take(message, out);
    }
    const unordered = this.data
      .flatMap((ofSender) => [...ofSender.values()])
      .filter(withinCut)
      .sort((a, b) => a.senderIndex - b.senderIndex || a.firstSeqno - b.firstSeqno);
    for (const message of unordered) this.take(message, out);
    this.data.length = 0;
    this.dataCount = 0;
    return out;
  }

  private take(message: M, out: M[]): void {
    this.data[message.senderIndex]!.delete(message.firstSeqno);
    this.dataCount--;
    out.push(message);
  }

  get pendingCount(): number {
    return this.dataCount;
  }
}
