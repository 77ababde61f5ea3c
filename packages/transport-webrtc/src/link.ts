/**
 * One data-channel connection to one peer: a thin adapter over a standard RTCPeerConnection that
 * speaks simple-peer's signal format (offer, answer, trickled candidates) and carries binary
 * messages on one reliable, ordered channel that the initiator opens, as simple-peer does.
 *
 * It replaces simple-peer (see the README): no Node streams, no timer left behind on close, plain
 * `{ type, sdp }` descriptions (node-datachannel refuses class instances from another library).
 *
 * Beside it, a second channel, `controlLabel`, carries the mesh's own small text messages (liveness
 * probes, relayed signals, peer lists): the data channel carries the app's frames untouched. Both
 * sides make that channel themselves, with one agreed stream id (`negotiated`), so it is never
 * announced: a simple-peer answerer takes every channel announced to it as its data channel and
 * sends on the last one. A plain simple-peer remote never reads the control channel.
 *
 * Backpressure: frames go straight to the channel while its bufferedAmount stays under
 * `highWaterBytes`; above that they wait in a queue of at most `maxQueuedBytes`, drained on
 * `bufferedamountlow` (or by polling where the implementation never fires it, as @roamhq/wrtc);
 * when the queue is full the frame is dropped and counted: the protocol core retransmits.
 */
import type { DataChannelLike, IceCandidateLike, PeerConnectionConstructor, PeerConnectionLike } from './rtc.js';
import { candidateLine, type SimplePeerSignal } from './signal.js';

export type LinkState = 'connecting' | 'open' | 'closed';

export interface LinkOptions {
  readonly initiator: boolean;
  readonly RTCPeerConnection: PeerConnectionConstructor;
  readonly configuration: Record<string, unknown>;
  /** Label of the data channel the initiator opens. */
  readonly channelLabel: string;
  /** Label of the control channel the initiator opens beside it. */
  readonly controlLabel: string;
  readonly highWaterBytes: number;
  readonly maxQueuedBytes: number;
  /** Give up on a connection that is not open after this long. */
  readonly connectTimeoutMs: number;
  /** ICE 'disconnected' for this long counts as lost (it may recover on its own before). */
  readonly disconnectedGraceMs: number;
  /** Candidates kept while the remote description is not set yet. */
  readonly maxPendingCandidates?: number;
}

export interface LinkEvents {
  signal(signal: SimplePeerSignal): void;
  open(): void;
  message(data: unknown): void;
  /** The control channel opened (with a plain simple-peer remote too, which never reads it). */
  controlOpen(): void;
  /** A text message on the control channel. */
  control(text: string): void;
  /** The link is over; `reason` says why (never called twice, never after close() returns). */
  close(reason: string): void;
  /** Frames had to wait for the channel's buffer, and now every one of them is written. */
  drained?(): void;
}

export interface LinkCounters {
  droppedBackpressure: number;
  queuedFrames: number;
}

const DRAIN_POLL_MS = 5;
/**
 * Stream id of the control channel on both sides. The one channel announced, the initiator's data
 * channel (ours or a simple-peer initiator's), takes the lowest free id of its DTLS role's parity: 0
 * or 1. Small, to stay within the stream count of every implementation.
 */
export const CONTROL_CHANNEL_ID = 2;
const EMPTY = new Uint8Array(0);
/** Longest control message accepted (a relayed offer is a few KiB). */
export const MAX_CONTROL_CHARS = 32 * 1024;

export class Link {
  state: LinkState = 'connecting';
  private readonly pc: PeerConnectionLike;
  private channel: DataChannelLike | undefined;
  private controlChannel: DataChannelLike | undefined;
  private remoteDescriptionSet = false;
  private readonly pendingCandidates: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[] = [];
  /** Frames waiting for the channel's buffer to drain; `queueHead` is the next one to write. */
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  /** Serialises description handling: an answer must not overtake the offer's processing. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: LinkOptions,
    private readonly events: LinkEvents,
    private readonly counters: LinkCounters,
  ) {
    this.pc = new options.RTCPeerConnection({ ...options.configuration });
    this.pc.onicecandidate = (event) => this.onLocalCandidate(event.candidate);
    this.pc.oniceconnectionstatechange = () => this.onStateChange(this.pc.iceConnectionState);
    this.pc.onconnectionstatechange = () => this.onStateChange(this.pc.connectionState ?? '');
    this.connectTimer = setTimeout(() => this.close('connect-timeout'), options.connectTimeoutMs);
    if (options.initiator) {
      this.attach(this.pc.createDataChannel(options.channelLabel, { ordered: true }));
      this.openControl();
      this.enqueue(async () => {
        const offer = await this.pc.createOffer();
        const description = { type: offer.type, sdp: offer.sdp ?? '' };
        await this.pc.setLocalDescription(description);
        this.emitDescription('offer', this.pc.localDescription?.sdp ?? description.sdp);
      });
    } else {
      this.pc.ondatachannel = (event) => {
        // The only channel announced is the data channel (the control channel is negotiated): others are not ours to carry.
        if (this.state !== 'closed' && !this.channel) this.attach(event.channel);
        else event.channel.close();
      };
    }
  }

  /** Applies a signal from the remote peer. Never throws; a signal that fails closes the link. */
  signal(signal: SimplePeerSignal): void {
    if (this.state === 'closed') return;
    switch (signal.type) {
      case 'offer':
        if (this.options.initiator) return; // glare is avoided by the mesh: only one side offers
        this.enqueue(async () => {
          await this.pc.setRemoteDescription({ type: 'offer', sdp: signal.sdp });
          // Only now: for a channel made before the remote offer, node-datachannel would start an offer of its own.
          if (!this.controlChannel) this.openControl();
          await this.flushCandidates();
          const answer = await this.pc.createAnswer();
          const description = { type: answer.type, sdp: answer.sdp ?? '' };
          await this.pc.setLocalDescription(description);
          this.emitDescription('answer', this.pc.localDescription?.sdp ?? description.sdp);
        });
        return;
      case 'answer':
        if (!this.options.initiator) return;
        this.enqueue(async () => {
          await this.pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
          await this.flushCandidates();
        });
        return;
      case 'candidate': {
        const line = candidateLine(signal.candidate.candidate);
        if (line === undefined) return;
        const candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number } = { candidate: line };
        if (signal.candidate.sdpMid !== null) candidate.sdpMid = signal.candidate.sdpMid;
        if (signal.candidate.sdpMLineIndex !== null) candidate.sdpMLineIndex = signal.candidate.sdpMLineIndex;
        if (candidate.sdpMid === undefined && candidate.sdpMLineIndex === undefined) candidate.sdpMLineIndex = 0;
        if (!this.remoteDescriptionSet) {
          if (this.pendingCandidates.length < (this.options.maxPendingCandidates ?? 64)) this.pendingCandidates.push(candidate);
          return;
        }
        // A candidate the implementation refuses is no reason to give up the link: others may work.
        this.pc.addIceCandidate(candidate).catch(() => undefined);
        return;
      }
      default:
        return; // renegotiation and transceivers: media only, this adapter carries data
    }
  }

  /** Best effort; false when the frame was dropped (link not open, or the queue is full). */
  send(bytes: Uint8Array): boolean {
    const channel = this.channel;
    if (this.state !== 'open' || !channel) return false;
    if (this.queueHead === this.queue.length && channel.bufferedAmount + bytes.byteLength <= this.options.highWaterBytes) {
      return this.write(channel, bytes);
    }
    if (this.queuedBytes + bytes.byteLength > this.options.maxQueuedBytes) {
      this.counters.droppedBackpressure++;
      return false;
    }
    this.queue.push(bytes.slice()); // the caller may reuse its buffer once send() returns
    this.queuedBytes += bytes.byteLength;
    this.counters.queuedFrames++;
    this.scheduleDrain();
    return true;
  }

  /** Best effort, small text only; false when there is no open control channel. */
  sendControl(text: string): boolean {
    const control = this.controlChannel;
    if (this.state !== 'open' || !control || control.readyState !== 'open') return false;
    try {
      control.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether the control channel is open (a plain simple-peer remote drops what it carries, unread). */
  get hasControl(): boolean {
    return this.controlChannel?.readyState === 'open';
  }

  get bufferedAmount(): number {
    return (this.channel?.bufferedAmount ?? 0) + this.queuedBytes;
  }

  /** Frames wait in this link's queue: the channel's buffer is full. */
  get congested(): boolean {
    return this.queueHead < this.queue.length;
  }

  /** Idempotent. Emits `close` once (unless `silent`), after releasing everything (the connection itself on the next turn). */
  close(reason = 'closed', silent = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    clearTimeout(this.disconnectedTimer);
    clearTimeout(this.drainTimer);
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    for (const channel of [this.channel, this.controlChannel]) {
      if (!channel) continue;
      channel.onopen = channel.onclose = channel.onerror = channel.onmessage = channel.onbufferedamountlow = null;
      try {
        channel.close();
      } catch {
        // closed already
      }
    }
    this.pc.onicecandidate = null;
    this.pc.oniceconnectionstatechange = null;
    this.pc.onconnectionstatechange = null;
    this.pc.ondatachannel = null;
    // On the next turn, not at once: node-datachannel's polyfill closes a channel on the next turn
    // (setImmediate), and a connection closed before that takes the channels down without telling
    // the remote, which then waits 15-30 s for ICE to fail (a simple-peer app on @roamhq/wrtc: 4
    // closes in 25). The mesh waits a turn too before releasing the implementation.
    const pc = this.pc;
    setTimeout(() => {
      try {
        pc.close();
      } catch {
        // closed already
      }
    }, 0);
    if (!silent) this.events.close(reason);
  }

  // ---------------------------------------------------------------- internals

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.state === 'closed') return;
      try {
        await step();
      } catch {
        this.close('negotiation-failed');
      }
    });
  }

  private emitDescription(type: 'offer' | 'answer', sdp: string): void {
    if (this.state !== 'closed') this.events.signal({ type, sdp });
  }

  private async flushCandidates(): Promise<void> {
    this.remoteDescriptionSet = true;
    for (const candidate of this.pendingCandidates.splice(0)) {
      if (this.state === 'closed') return;
      await this.pc.addIceCandidate(candidate).catch(() => undefined);
    }
  }

  private onLocalCandidate(candidate: IceCandidateLike | null): void {
    if (this.state === 'closed' || !candidate) return;
    const line = candidateLine(candidate.candidate ?? '');
    if (line === undefined) return;
    this.events.signal({
      type: 'candidate',
      candidate: { candidate: line, sdpMLineIndex: candidate.sdpMLineIndex ?? null, sdpMid: candidate.sdpMid ?? null },
    });
  }

  private onStateChange(state: string): void {
    if (this.state === 'closed') return;
    if (state === 'failed' || state === 'closed') {
      this.close(`ice-${state}`);
    } else if (state === 'disconnected') {
      this.disconnectedTimer ??= setTimeout(() => this.close('ice-disconnected'), this.options.disconnectedGraceMs);
    } else if (state === 'connected' || state === 'completed') {
      clearTimeout(this.disconnectedTimer);
      this.disconnectedTimer = undefined;
    }
  }

  private attach(channel: DataChannelLike): void {
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    try {
      channel.bufferedAmountLowThreshold = Math.floor(this.options.highWaterBytes / 2);
    } catch {
      // an implementation without the threshold: the drain timer polls instead
    }
    channel.onopen = () => this.onOpen();
    channel.onclose = () => this.close('channel-closed');
    channel.onerror = () => this.close('channel-error');
    channel.onmessage = (event) => {
      if (this.state === 'open') this.events.message(event.data);
    };
    channel.onbufferedamountlow = () => this.drain();
    if (channel.readyState === 'open') this.onOpen();
  }

  private openControl(): void {
    const channel = this.pc.createDataChannel(this.options.controlLabel, { ordered: true, negotiated: true, id: CONTROL_CHANNEL_ID });
    this.controlChannel = channel;
    // Losing the control channel alone costs liveness probes and relaying, not the link.
    channel.onclose = channel.onerror = null;
    channel.onopen = () => {
      if (this.state !== 'closed') this.events.controlOpen();
    };
    if (channel.readyState === 'open') queueMicrotask(() => channel.onopen?.({}));
    channel.onmessage = (event) => {
      if (this.state === 'open' && typeof event.data === 'string' && event.data.length <= MAX_CONTROL_CHARS) this.events.control(event.data);
    };
  }

  private onOpen(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.events.open();
  }

  private write(channel: DataChannelLike, bytes: Uint8Array): boolean {
    try {
      channel.send(bytes);
      return true;
    } catch {
      // Not open any more (its close event follows), or the implementation's own buffer is full.
      if (channel.readyState !== 'open') queueMicrotask(() => this.close('channel-closed'));
      else this.counters.droppedBackpressure++;
      return false;
    }
  }

  private scheduleDrain(): void {
    // bufferedamountlow does the work where it fires; the poll covers implementations where it never does.
    this.drainTimer ??= setTimeout(() => {
      this.drainTimer = undefined;
      this.drain();
    }, DRAIN_POLL_MS);
  }

  private drain(): void {
    const channel = this.channel;
    if (this.state !== 'open' || !channel || this.queueHead === this.queue.length) return;
    while (this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead]!;
      if (channel.bufferedAmount + next.byteLength > this.options.highWaterBytes) break;
      this.queue[this.queueHead++] = EMPTY;
      this.queuedBytes -= next.byteLength;
      if (!this.write(channel, next)) break;
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
      this.events.drained?.();
    } else {
      if (this.queueHead > 1024) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      this.scheduleDrain();
    }
  }
}
