/**
 * The data path of one view: the members' fifo streams, fragment reassembly, and the causal,
 * total and safe orders layered on them, plus the stability digests. A new Epoch starts with each
 * view; its end (`finish`) delivers exactly the messages up to the flush's cut.
 */
import type { Order, View } from './api.js';
import { CausalOrder } from './causal.js';
import { Reassembler } from './frag.js';
import { Stream } from './fifo.js';
import type { DeferredReleases } from './frames.js';
import { DigestTable } from './stable.js';
import { TotalOrder } from './total.js';
import { encodeFrame, type Frame, type Unit } from './wire.js';

export interface Message {
  readonly senderIndex: number;
  readonly firstSeqno: number;
  readonly lastSeqno: number;
  readonly order: Order;
  /**
   * A message of one unit: a view into its frame, with a reference to the frame's slab
   * (frames.ts) that whoever delivers the message releases. A longer one: a copy of its own.
   */
  readonly payload: Uint8Array;
  readonly vectorClock: readonly number[];
  /**
   * This member's own pack (pack.ts): its messages, in their own buffers (never the frame kept for
   * retransmission).
   */
  readonly parts: readonly Uint8Array[] | undefined;
  /** Another member's pack: the payload holds its messages, read when it is delivered. */
  readonly packed: boolean;
}

type DataFrame = Extract<Frame, { kind: 'data' }>;

/** The clock of every message that carries none (all but causal ones): shared, never modified. */
const NO_CLOCK: readonly number[] = [];

export class Epoch {
  readonly streams: Stream<Unit>[];
  readonly digests: DigestTable;
  /**
   * Digests reported before each member promised a flush: the acknowledgements safe delivery
   * counts. A unit every member held while not frozen is in every promise, so in every cut.
   */
  readonly safeAcks: DigestTable;
  readonly causal: CausalOrder<Message>;
  readonly total = new TotalOrder<Message & { order: 'total' | 'safe' }>();
  private readonly reassemblers: Reassembler[];
  private readonly firstClocks: (readonly number[] | undefined)[];
  private fifoReady: Message[] = [];
  private nextSeqno = 1;
  /** Per own unit from seqno ownMessagesFrom on: the messages it completes; counted up to `stable`. */
  private ownMessages: number[] = [];
  private ownMessagesFrom = 1;
  private ownMessagesHead = 0;
  private unstableMessages = 0;
  /** Units received from others since this member last reported its digest. */
  unreportedBytes = 0;
  /** Set when a safe message or its order arrived: the others need our digest soon. */
  safeAckDue = false;
  malformedUnits = 0;

  constructor(
    private readonly group: string,
    readonly view: View,
    readonly selfIndex: number,
    maxAheadUnits: number,
    /** Left free before each frame this member sends (MemberConfig.frameHeadroomBytes). */
    private readonly headroomBytes = 0,
    /** Where frames this epoch stops holding go (frames.ts); none: it takes no references. */
    private readonly releases?: DeferredReleases,
  ) {
    const n = view.members.length;
    this.streams = Array.from({ length: n }, () => new Stream<Unit>(maxAheadUnits, releases));
    this.reassemblers = Array.from({ length: n }, () => new Reassembler(releases));
    this.firstClocks = new Array(n).fill(undefined);
    this.digests = new DigestTable(n);
    this.safeAcks = new DigestTable(n);
    this.causal = new CausalOrder(n);
  }

  get isSequencer(): boolean {
    return this.selfIndex === 0;
  }

  /**
   * Encodes, keeps and locally processes a unit this member sends; returns its frame. `messages`:
   * how many app messages it completes (a pack's count; 0 for an order unit or a message's early
   * fragments), for the flow window's count of messages in flight.
   */
  sendUnit(unit: Unit, messages = 0): Uint8Array {
    const seqno = this.nextSeqno++;
    this.ownMessages.push(messages);
    this.unstableMessages += messages;
    const frame = encodeFrame(this.group, {
      kind: 'data',
      viewId: this.view.viewId,
      senderIndex: this.selfIndex,
      seqno,
      unit,
    }, this.headroomBytes);
    this.streams[this.selfIndex]!.appendOwn(seqno, frame);
    // The stream holds a reference of its own; the encoder's goes once the frame is sent.
    this.releases?.add(frame);
    // A pack written straight into the frame: its bytes are the frame's tail, but this member
    // delivers its own messages from their own buffers (the app must not get views into a frame
    // kept for retransmission).
    const local = unit.order !== 'order' && unit.parts ? { ...unit, chunk: frame.subarray(frame.length - unit.messageBytes) } : unit;
    this.process(this.selfIndex, seqno, local);
    return frame;
  }

  peekNextSeqno(): number {
    return this.nextSeqno;
  }

  /** A data frame from the network (already checked to belong to this view). */
  receive(frame: DataFrame, bytes: Uint8Array): void {
    if (frame.senderIndex === this.selfIndex) return;
    const stream = this.streams[frame.senderIndex];
    if (!stream) return;
    const accepted = stream.accept(frame.seqno, frame.unit, bytes);
    if (accepted === 'ignored') return;
    this.unreportedBytes += bytes.length;
    if (accepted === 'held') return;
    this.process(frame.senderIndex, frame.seqno, frame.unit);
    for (let unit = stream.takeNext(); unit; unit = stream.takeNext()) this.process(frame.senderIndex, stream.contiguous, unit);
  }

  private process(senderIndex: number, seqno: number, unit: Unit): void {
    if (unit.order === 'order') {
      const n = this.view.members.length;
      if (senderIndex !== 0 || unit.entries.some((entry) => entry.senderIndex >= n)) {
        this.malformedUnits++;
        return;
      }
      this.total.addOrder(unit.entries, seqno);
      if (this.total.waitingForStability()) this.safeAckDue = true;
      return;
    }
    if (unit.first) this.firstClocks[senderIndex] = unit.vectorClock;
    const reassembler = this.reassemblers[senderIndex]!;
    const payload = reassembler.push(seqno, unit);
    if (!payload) return;
    const message: Message = {
      senderIndex,
      firstSeqno: reassembler.completedFirstSeqno,
      lastSeqno: seqno,
      order: unit.order,
      payload,
      vectorClock: this.firstClocks[senderIndex] ?? NO_CLOCK,
      parts: unit.parts,
      packed: unit.packed === true,
    };
    switch (message.order) {
      case 'fifo':
        this.fifoReady.push(message);
        break;
      case 'causal':
        this.causal.add(message);
        break;
      case 'total':
      case 'safe':
        this.total.addData(message as Message & { order: 'total' | 'safe' }, this.isSequencer);
        if (message.order === 'safe') this.safeAckDue = true;
        break;
    }
  }

  /** This member's digest: per sender, the highest seqno held without a gap. */
  received(): number[] {
    return this.streams.map((stream) => stream.contiguous);
  }

  onDigest(reporterIndex: number, received: readonly number[], frozen: boolean): void {
    this.digests.update(reporterIndex, received);
    if (!frozen) this.safeAcks.update(reporterIndex, received);
    received.forEach((seqno, sender) => this.streams[sender]?.learnMax(seqno, sender === reporterIndex));
    this.collectGarbage();
  }

  collectGarbage(): void {
    this.digests.update(this.selfIndex, this.received());
    this.streams.forEach((stream, sender) => stream.stabilize(this.digests.stable(sender)));
    this.dropStableCounts(); // here too: a sequencer may never pump
  }

  /** Messages deliverable now, in an order that respects each message's ordering guarantee. */
  takeDeliverable(): Message[] {
    // Asked after every input: nothing is allocated when nothing is ready.
    let out = this.fifoReady;
    if (out.length > 0) this.fifoReady = [];
    if (this.causal.size > 0) out = append(out, this.causal.takeReady());
    if (this.total.pendingCount > 0) {
      // Only called while this member is not frozen, so its own digest is an acknowledgement.
      // In place, not through received(): an array per call adds up, this runs after every input.
      for (let sender = 0; sender < this.streams.length; sender++) this.safeAcks.raise(this.selfIndex, sender, this.streams[sender]!.contiguous);
      out = append(out, this.total.takeReady(this.safelyStable));
    }
    return out;
  }

  private readonly safelyStable = (sender: number, seqno: number): boolean => this.safeAcks.stable(sender) >= seqno;

  /** The end of the view: every message up to the cut not delivered yet, the same at every survivor. */
  finish(cut: readonly number[]): Message[] {
    const withinCut = (message: Message) => message.lastSeqno <= (cut[message.senderIndex] ?? 0);
    const out = this.fifoReady.filter(withinCut);
    this.fifoReady = [];
    out.push(...this.causal.takeReady(withinCut));
    out.push(...this.total.takeFinal(cut));
    return out;
  }

  /** The gaps (up to `maxRanges` per stream) of every stream known to have more than this member holds. */
  gaps(maxUnits: number, heard: (senderIndex: number) => boolean, maxRanges: number): { senderIndex: number; from: number; to: number }[] {
    const out: { senderIndex: number; from: number; to: number }[] = [];
    this.streams.forEach((stream, senderIndex) => {
      if (senderIndex === this.selfIndex) return;
      for (const gap of stream.missing(maxUnits, heard(senderIndex), maxRanges)) out.push({ senderIndex, ...gap });
    });
    return out;
  }

  /** Stored frames of `senderIndex` in [from, to], for retransmission. */
  stored(senderIndex: number, from: number, to: number, maxUnits: number): Uint8Array[] {
    return this.streams[senderIndex]?.storedFrames(from, to, maxUnits) ?? [];
  }

  /** Bytes of this member's own units that not every member holds yet (the flow-control credit used). */
  get unstableOwnBytes(): number {
    return this.streams[this.selfIndex]!.storedBytes;
  }

  /** This member's own messages that not every member holds yet (each counted at its last unit). */
  get unstableOwnMessages(): number {
    this.dropStableCounts();
    return this.unstableMessages;
  }

  /** Forgets the message counts of own units every member now holds. */
  private dropStableCounts(): void {
    const stable = this.streams[this.selfIndex]!.stable;
    while (this.ownMessagesFrom + this.ownMessagesHead <= stable && this.ownMessagesHead < this.ownMessages.length) {
      this.unstableMessages -= this.ownMessages[this.ownMessagesHead++]!;
    }
    if (this.ownMessagesHead >= 1024 && this.ownMessagesHead * 2 >= this.ownMessages.length) {
      this.ownMessages = this.ownMessages.slice(this.ownMessagesHead);
      this.ownMessagesFrom += this.ownMessagesHead;
      this.ownMessagesHead = 0;
    }
  }

  bufferedBytes(): number {
    let bytes = 0;
    for (const stream of this.streams) bytes += stream.storedBytes;
    return bytes;
  }

  bufferedMessages(): number {
    return this.fifoReady.length + this.causal.size + this.total.pendingCount;
  }
}

/** `to` with `more` appended (`more` itself when `to` is empty: an empty `to` may still be live). */
function append<T>(to: T[], more: readonly T[]): T[] {
  if (more.length === 0) return to;
  if (to.length === 0) return more as T[];
  for (const item of more) to.push(item);
  return to;
}
