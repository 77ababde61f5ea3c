/**
 * The contract between the sans-I/O protocol core and the shells that drive it
 * (the simulator, the peer runtime). Inputs go in through Member's methods with the current
 * time; outputs are drained with Member.takeOutput().
 *
 * Frame bytes (frames.ts): the bytes of an output (its sends' bytes, its deliveries' payloads)
 * are valid until the next takeOutput(), when the member may give them back to the frame pool.
 * A runtime therefore hands each send to a transport that copies it or is done with it when
 * send() returns, and reads or copies each payload, before it takes the next output. A frame
 * passed to receive() that comes from the frame pool (copyFrameBytes, as the memory transport and
 * the simulator's network make one per receiver) hands the member its reference: the runtime must
 * not read it afterwards, nor pass the same bytes to another member. send() copies a payload
 * that is (a view into) a pooled frame, such as a delivered payload sent on.
 */

/** An opaque member address. One member id = one incarnation: a restarted process uses a new id. */
export type MemberId = string;

export type Order = 'fifo' | 'causal' | 'total' | 'safe';

export interface View {
  readonly group: string;
  /** Increases by one with every installed view of the group's primary partition. */
  readonly viewId: number;
  /** Oldest first. members[0] is the coordinator and the total-order sequencer. */
  readonly members: readonly MemberId[];
}

/** One datagram to send, the same bytes to every destination. */
export interface Send {
  readonly to: readonly MemberId[];
  readonly bytes: Uint8Array;
  /**
   * Bytes right before `bytes` in its buffer that are free for the runtime to write its envelope
   * into, so that it need not copy the frame (MemberConfig.frameHeadroomBytes); 0 or absent: none
   * (retransmissions and relayed frames carry none). A runtime writes the same envelope before a
   * given frame each time, so a transport still holding an earlier send of it sees no change.
   */
  readonly headroomBytes?: number;
}

/**
 * Upcalls are ordered: the app must process them in sequence (deliveries of view v, then the
 * saveState for the joiners of v+1, then view v+1, and so on).
 */
export type Upcall =
  /** A new view is installed. Deliveries that follow belong to it. */
  | {
      readonly type: 'view';
      readonly view: View;
      readonly joined: readonly MemberId[];
      readonly left: readonly MemberId[];
    }
  | {
      readonly type: 'deliver';
      readonly viewId: number;
      readonly sender: MemberId;
      readonly order: Order;
      /** Unique across the group: `${sender}:${viewId}:${seqno}`, and `.${part}` in a pack (messageId()). */
      readonly id: string;
      /** The seqno of its first unit in its sender's stream of this view (a pack is one unit). */
      readonly seqno: number;
      /** Its place in a packed unit; -1 for a unit of one message. */
      readonly part: number;
      /**
       * Not a copy: the member may keep these bytes (as part of a frame it retransmits until the
       * message is stable), and of its own messages they are what was passed to send(). Read them,
       * copy what outlives the upcall if it may be modified, never modify them.
       */
      readonly payload: Uint8Array;
    }
  /** Take a snapshot of the app state now (at this exact point of the delivery sequence) and hand
   *  it back with Member.provideState(xferId, bytes). It goes to the joiners of the next view. */
  | { readonly type: 'saveState'; readonly xferId: string }
  /** This member joined an existing group: load this state before processing later upcalls. */
  | { readonly type: 'loadState'; readonly state: Uint8Array }
  /** A flush began: new sends are held until the next view. */
  | { readonly type: 'block' }
  /** A message handed to send() has left the send queue with this group-wide id. */
  | { readonly type: 'sent'; readonly localId: number; readonly id: string }
  /** This member lost the majority of its view: it stops delivering until it rejoins. */
  | { readonly type: 'minority'; readonly view: View }
  /** The partition healed before the group went on without this member: it delivers again. */
  | { readonly type: 'majority'; readonly view: View }
  /** The group went on without this member (partition or false suspicion). It must rejoin under a
   *  new member id; queued sends were not sent. */
  | { readonly type: 'excluded'; readonly reason: string }
  /** leave() completed: this member is no longer in the group. */
  | {
      readonly type: 'left';
      /**
       * It was excluded while leaving (cut off, its leave never agreed): the group went on without
       * it from its last view, so what it delivered there in total order may not be what the
       * others delivered (total order is not uniform; safe is). False when it left through a view
       * change the others installed with it, or from no view at all.
       */
      readonly cutOff: boolean;
    };

/** Valid until the next takeOutput() (see the frame bytes rule above). */
export interface Output {
  readonly sends: Send[];
  readonly upcalls: Upcall[];
  /** Call Member.tick() at or after this time. */
  readonly wakeAtMs: number | undefined;
}

export interface MemberConfig {
  readonly self: MemberId;
  readonly group: string;
  /** Injected randomness in [0, 1): the core draws none of its own. */
  readonly random: () => number;
  /** Largest datagram the transport carries. Default 16 KiB (WebRTC data channels). */
  readonly mtuBytes?: number;
  /** Largest application message. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  readonly heartbeatMs?: number;
  readonly suspectAfterMs?: number;
  readonly retransmitMs?: number;
  /** How long a founder waits to discover an existing group before founding one. */
  readonly discoveryMs?: number;
  /** How long a coordinator waits on a flush before retrying with a higher ballot. */
  readonly flushTimeoutMs?: number;
  /** Credit window: unstable bytes a sender may have in flight before it waits for stability. */
  readonly flowWindowBytes?: number;
  /** Largest total of queued, not-yet-sent bytes before send() throws BACKPRESSURE. */
  readonly maxQueuedBytes?: number;
  /**
   * New data sent between two takeOutput() calls, at most (about one unit more): past it the member
   * asks to be woken at once (wakeAtMs = now) for the rest, so that a runtime can check the
   * transport's backpressure in between. Default: no limit.
   */
  readonly maxBurstBytes?: number;
  /**
   * Bytes to leave free before each frame this member encodes (Send.headroomBytes), for a runtime
   * that prepends a header of at most this many bytes. An integer from 0 (the default) to 255.
   */
  readonly frameHeadroomBytes?: number;
}

export interface MemberStats {
  /** Frames dropped because they were malformed, truncated, oversized or of an unknown version. */
  droppedMalformed: number;
  /** Frames dropped because their sender is not a member of this member's view. */
  droppedNonMember: number;
  /** Frames of an older view, or otherwise no longer relevant. */
  droppedStale: number;
  retransmitsSent: number;
  naksSent: number;
  viewChanges: number;
  /** Messages this member sent packed with others in one unit (pack.ts). */
  packedMessages: number;
}
