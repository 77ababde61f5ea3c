/**
 * The WebRTC transport: a full mesh of data channels between the peers of a signaling room, one
 * Link (link.ts) per pair. Platform-neutral: index.ts (Node) and index.browser.ts give it an
 * RTCPeerConnection implementation.
 *
 * Who connects: of two peers, the one with the smaller address offers, the other answers, so two
 * peers never offer to each other at once (no glare). When a link that was open breaks, the
 * offerer tries again while the other peer is still in the signaling room; the answerer waits.
 *
 * Liveness, for peers() and the linkDown hint: a link is up from its channel's `open` to the first
 * of channel close, ICE `failed` / `closed`, or ICE `disconnected` for `disconnectedGraceMs`; a
 * peer that closes its transport closes its connections, which the other side sees at once.
 *
 * A crashed peer (SIGKILL, a lost laptop) leaves the signaling room at once, but its connections
 * only fail when ICE consent runs out (tens of seconds, or never with libdatachannel): so when a
 * linked peer leaves the room, it is asked for a pong on the control channel, and a link that does
 * not answer within `probeTimeoutMs` is closed (linkDown).
 *
 * Signaling only bootstraps: every link's control channel carries the list of the peers it is
 * linked to, so each peer learns the mesh from its neighbours as well as from the server; when the
 * server cannot carry a signal (it is gone, or the peer is not in its room), the signal goes to a
 * neighbour that is linked to the target, which hands it on (one hop). So a broken link is mended,
 * and a peer heard of only through the mesh is connected, without the server. A new peer still
 * needs the server (or another bootstrap) to make its first link.
 */
import { SynodError, emptyTransportStats, type PeerAddress, type Transport, type TransportStats } from '@synod/core';
import { signalingClient, type Json, type PeerInfo, type SignalingClient } from '@synod/signaling';
import { Link, type LinkCounters } from './link.js';
import { toImplementation, type RtcImplementation, type RtcOption } from './rtc.js';
import { parseEnvelope, type SimplePeerSignal } from './signal.js';

export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

export interface WebRtcInit {
  /** A signaling server URL (`ws://127.0.0.1:8787`) or a client of @synod/signaling already made (its id is then this peer's address). */
  readonly signaling: string | SignalingClient;
  /** Room on the signaling server. Default 'synod'. Ignored when a client is given. */
  readonly room?: string;
  /** STUN / TURN servers. Default none: host candidates only. */
  readonly iceServers?: readonly IceServer[];
  /**
   * The WebRTC implementation. Browsers: the native RTCPeerConnection. Node: 'node-datachannel'
   * (default) or '@roamhq/wrtc', or any standard RTCPeerConnection (a constructor, a module that
   * has one, or an RtcImplementation).
   */
  readonly rtc?: RtcOption | Promise<RtcOption> | string;
  /**
   * Largest frame. Default 64 KiB: Chromium, node-datachannel and @roamhq/wrtc all carry messages up
   * to 256 KiB (SCTP max-message-size), and a 16 KiB app message plus its headers then goes as one
   * frame (at 16 KiB it took two, and the group reached 0.76–0.85 of raw instead of 0.81–1.0).
   * 16 KiB is the size even old browsers carry; every peer of a group must use one size.
   */
  readonly mtuBytes?: number;
  /** Bytes in a channel's own buffer above which frames wait in the link's queue. Default 1 MiB. */
  readonly highWaterBytes?: number;
  /** Bytes waiting per link beyond which frames are dropped and counted. Default 1 MiB. */
  readonly maxQueuedBytes?: number;
  /** A link not open after this long is abandoned (and retried while the peer is in the room). Default 15 000. */
  readonly connectTimeoutMs?: number;
  /** ICE 'disconnected' for this long counts as link loss. Default 3000. */
  readonly disconnectedGraceMs?: number;
  /** A linked peer that leaves the signaling room must answer a probe on the link within this long. Default 1000. */
  readonly probeTimeoutMs?: number;
  /** How long start() waits for the signaling server's welcome. Default 5000. */
  readonly signalingTimeoutMs?: number;
  /**
   * How long start() waits, after the welcome, for links to the peers already in the room, so that
   * peers() names them when the app joins a group. Default 5000; 0 returns at once.
   */
  readonly linkWaitMs?: number;
  /** Links kept at once. Default 256. */
  readonly maxPeers?: number;
}

export interface WebRtcStats extends TransportStats {
  /** Frames dropped because the link's queue was full (the core retransmits). */
  droppedBackpressure: number;
  /** Frames that waited in a link's queue for the channel's buffer to drain. */
  queuedFrames: number;
  /** Data-channel messages that were not binary. */
  droppedMalformed: number;
  linksOpened: number;
  /** Links closed after they had opened (each one a linkDown). */
  linksLost: number;
  /** Connection attempts that never opened. */
  linksFailed: number;
  signalsSent: number;
  signalsReceived: number;
  /** Signals sent, or handed on, through a neighbour instead of the signaling server. */
  signalsRelayed: number;
  /** Control messages that did not parse or could not be acted on. */
  droppedControl: number;
  /** Links closed because the peer left the room and did not answer a probe. */
  probesFailed: number;
  /** Signals that did not parse, named an unknown attempt, or could not be sent. */
  droppedSignals: number;
}

export interface WebRtcTransport extends Transport {
  readonly stats: WebRtcStats;
  /** The implementation in use (after start). */
  readonly implementation: string | undefined;
  /** Bytes waiting to go to `peer` (the channel's buffer and the link's queue): for senders that pace themselves. */
  bufferedBytes(peer: PeerAddress): number;
  /** Stops at once: every connection closed, as a crash looks to the peers (tests, fault injection). */
  abort(): void;
  /** Closes the link to `peer` as if it broke (fault injection): linkDown, then the offerer mends it. */
  disconnect(peer: PeerAddress): void;
}

/** How a platform turns the `rtc` option into an implementation. */
export type RtcResolver = (option: WebRtcInit['rtc']) => Promise<RtcImplementation>;

interface LinkEntry {
  readonly id: string;
  readonly link: Link;
  readonly initiator: boolean;
  opened: boolean;
  /** The peers this neighbour last said it is linked to. */
  neighbours: ReadonlySet<PeerAddress>;
  /** Pending liveness probe: its nonce and timer. */
  probe: { nonce: number; timer: ReturnType<typeof setTimeout> } | undefined;
}

/** What travels on a link's control channel (JSON text). */
type Control =
  | { readonly t: 'ping'; readonly n: number }
  | { readonly t: 'pong'; readonly n: number }
  | { readonly t: 'peers'; readonly ids: readonly string[] }
  | { readonly t: 'relay'; readonly to: string; readonly from: string; readonly data: Json };

const CHANNEL_LABEL = 'synod';
const CONTROL_LABEL = 'synod-control';
const MAX_GOSSIP_IDS = 1024;
const MAX_ADDRESS_CHARS = 255;
const MAX_MTU_BYTES = 256 * 1024;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

function option(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) {
    throw new SynodError('INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return chosen;
}

function randomHex(bytes: number): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A throwing handler must not cost the other handlers their frames; its error is still surfaced. */
function callSafely(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** True for a room member that may be a WebRTC peer: UDP peers announce another transport. */
function speaksWebRtc(peer: PeerInfo): boolean {
  const meta = peer.meta;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return true;
  const transport = (meta as Record<string, Json>)['transport'];
  return transport === undefined || transport === 'webrtc';
}

class WebRtcMesh implements WebRtcTransport {
  readonly orderedLinks = true;
  readonly mtuBytes: number;
  readonly stats: WebRtcStats = {
    ...emptyTransportStats(),
    droppedBackpressure: 0,
    queuedFrames: 0,
    droppedMalformed: 0,
    linksOpened: 0,
    linksLost: 0,
    linksFailed: 0,
    signalsSent: 0,
    signalsReceived: 0,
    droppedSignals: 0,
    signalsRelayed: 0,
    droppedControl: 0,
    probesFailed: 0,
  };
  private readonly highWaterBytes: number;
  private readonly maxQueuedBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly disconnectedGraceMs: number;
  private readonly signalingTimeoutMs: number;
  private readonly maxPeers: number;
  private readonly linkWaitMs: number;
  private readonly probeTimeoutMs: number;
  private gossipScheduled = false;
  /** While start() waits for links: peers whose attempt failed (it stops waiting for them). */
  private readonly address: PeerAddress;
  private state: 'created' | 'starting' | 'open' | 'closed' = 'created';
  private rtc: RtcImplementation | undefined;
  private signaling: SignalingClient | undefined;
  private readonly ownsSignaling: boolean;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly links = new Map<PeerAddress, LinkEntry>();
  private readonly reconnects = new Map<PeerAddress, { timer: ReturnType<typeof setTimeout> | undefined; attempt: number }>();
  private readonly messageHandlers = new Set<(from: PeerAddress, bytes: Uint8Array) => void>();
  private readonly linkDownHandlers = new Set<(peer: PeerAddress) => void>();
  private readonly drainHandlers = new Set<() => void>();
  private readonly counters: LinkCounters;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly init: WebRtcInit,
    private readonly resolveRtc: RtcResolver,
  ) {
    this.mtuBytes = option('mtuBytes', init.mtuBytes, 64 * 1024, 64, MAX_MTU_BYTES);
    this.highWaterBytes = option('highWaterBytes', init.highWaterBytes, 1024 * 1024, this.mtuBytes, 16 * 1024 * 1024 - MAX_MTU_BYTES);
    this.maxQueuedBytes = option('maxQueuedBytes', init.maxQueuedBytes, 1024 * 1024, 0);
    this.connectTimeoutMs = option('connectTimeoutMs', init.connectTimeoutMs, 15_000, 1);
    this.disconnectedGraceMs = option('disconnectedGraceMs', init.disconnectedGraceMs, 3000, 0);
    this.signalingTimeoutMs = option('signalingTimeoutMs', init.signalingTimeoutMs, 5000, 1);
    this.maxPeers = option('maxPeers', init.maxPeers, 256, 1);
    this.linkWaitMs = option('linkWaitMs', init.linkWaitMs, 5000, 0);
    this.probeTimeoutMs = option('probeTimeoutMs', init.probeTimeoutMs, 1000, 1);
    if (typeof init.signaling === 'string') {
      if (!/^wss?:\/\//.test(init.signaling)) throw new SynodError('INVALID_ARGUMENT', `signaling must be a ws:// or wss:// URL, got ${init.signaling}`);
      // Random per transport, hence per process lifetime: a reloaded page is a new peer.
      this.address = `webrtc:${randomHex(10)}`;
      this.ownsSignaling = true;
    } else if (init.signaling && typeof init.signaling === 'object' && typeof init.signaling.id === 'string') {
      this.signaling = init.signaling;
      this.address = init.signaling.id;
      this.ownsSignaling = false;
    } else {
      throw new SynodError('INVALID_ARGUMENT', 'webrtc() needs { signaling: url or signaling client }');
    }
    for (const server of init.iceServers ?? []) {
      if (!server || (typeof server.urls !== 'string' && !Array.isArray(server.urls))) {
        throw new SynodError('INVALID_ARGUMENT', 'each ICE server needs urls');
      }
    }
    this.counters = this.stats;
  }

  get localId(): PeerAddress {
    return this.address;
  }

  get implementation(): string | undefined {
    return this.rtc?.name;
  }

  bufferedBytes(peer: PeerAddress): number {
    return this.links.get(peer)?.link.bufferedAmount ?? 0;
  }

  /** A credit window the links' buffers hold: the channel's high-water mark plus the queue. */
  get flowWindowBytes(): number {
    return this.highWaterBytes + this.maxQueuedBytes;
  }

  /** New data between two looks at congested(): a quarter of a link's queue. */
  get burstBytes(): number {
    return Math.max(this.mtuBytes, Math.floor(this.maxQueuedBytes / 4));
  }

  congested(): boolean {
    for (const entry of this.links.values()) if (entry.link.congested) return true;
    return false;
  }

  onDrain(handler: () => void): () => void {
    this.drainHandlers.add(handler);
    return () => this.drainHandlers.delete(handler);
  }

  /** A link's queue drained or a link closed: tell the runtime if no other link holds frames. */
  private checkDrained(): void {
    if (this.state === 'closed' || this.drainHandlers.size === 0 || this.congested()) return;
    for (const handler of this.drainHandlers) callSafely(handler);
  }

  async start(): Promise<void> {
    if (this.state === 'closed') throw new SynodError('CLOSED', `transport ${this.address} is closed`);
    if (this.state !== 'created') return;
    this.state = 'starting';
    let rtc: RtcImplementation;
    try {
      rtc = await this.resolveRtc(this.init.rtc);
    } catch (cause) {
      this.state = 'closed';
      throw new SynodError('TRANSPORT', 'no WebRTC implementation', { cause });
    }
    if (this.state !== 'starting') return; // closed while loading
    this.rtc = rtc;
    rtc.acquire?.();
    const client =
      this.signaling ??
      signalingClient(this.init.signaling as string, this.init.room ?? 'synod', { id: this.address, meta: { transport: 'webrtc' } });
    this.signaling = client;
    this.unsubscribe.push(
      client.on('peers', (peers) => peers.forEach((peer) => this.onPeerSeen(peer))),
      client.on('join', (peer) => this.onPeerSeen(peer)),
      client.on('leave', (id) => this.onPeerLeft(id)),
      client.on('signal', (from, data) => this.onSignal(from, data)),
    );
    try {
      await client.ready(this.signalingTimeoutMs);
    } catch (cause) {
      await this.close();
      throw new SynodError('TRANSPORT', `no answer from the signaling server ${client.url}`, { cause });
    }
    if (this.state !== 'starting') return;
    this.state = 'open';
    const present = client.peers().filter((peer) => peer.id !== this.address && speaksWebRtc(peer));
    for (const peer of present) this.onPeerSeen(peer);
    await this.awaitLinks(present.map((peer) => peer.id));
  }

  /**
   * Until every peer named is linked or gone from the room, or linkWaitMs passed. A first link
   * attempt that fails is not the end: the mesh reconnects within a few hundred milliseconds, and
   * a joiner that stopped waiting would see no contact and found a second group.
   */
  private async awaitLinks(expected: PeerAddress[]): Promise<void> {
    const deadline = performance.now() + this.linkWaitMs;
    const waiting = () => {
      const inRoom = new Set(this.signaling?.peers().map((peer) => peer.id));
      return expected.some((peer) => inRoom.has(peer) && !this.links.get(peer)?.opened);
    };
    while (this.state === 'open' && performance.now() < deadline && waiting()) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  send(to: PeerAddress, bytes: Uint8Array): void {
    if (this.state !== 'open') {
      this.stats.droppedUnreachable++;
      return;
    }
    if (bytes.byteLength > this.mtuBytes) {
      this.stats.droppedOversized++;
      return;
    }
    const entry = this.links.get(to);
    if (!entry || !entry.opened) {
      this.stats.droppedUnreachable++;
      return;
    }
    if (entry.link.send(bytes)) {
      this.stats.framesSent++;
      this.stats.bytesSent += bytes.byteLength;
    }
  }

  onMessage(handler: (from: PeerAddress, bytes: Uint8Array) => void): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  onLinkDown(handler: (peer: PeerAddress) => void): () => void {
    this.linkDownHandlers.add(handler);
    return () => this.linkDownHandlers.delete(handler);
  }

  peers(): PeerAddress[] {
    if (this.state !== 'open') return [];
    const peers: PeerAddress[] = [];
    for (const [peer, entry] of this.links) if (entry.opened) peers.push(peer);
    return peers;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  abort(): void {
    void this.close();
  }

  disconnect(peer: PeerAddress): void {
    this.links.get(peer)?.link.close('disconnected');
  }

  // ---------------------------------------------------------------- links

  private onPeerSeen(peer: PeerInfo): void {
    if (this.state === 'closed' || peer.id === this.address || !speaksWebRtc(peer)) return;
    // The smaller address offers; the other waits for its offer.
    if (this.address < peer.id && !this.links.has(peer.id)) this.connect(peer.id);
  }

  /** In the room, or named by a neighbour: a peer worth connecting to (again). */
  private present(peer: PeerAddress): boolean {
    if (this.signaling?.peers().some((info) => info.id === peer && speaksWebRtc(info))) return true;
    for (const entry of this.links.values()) if (entry.opened && entry.neighbours.has(peer)) return true;
    return false;
  }

  private connect(peer: PeerAddress): void {
    if (this.links.size >= this.maxPeers) return;
    this.openLink(peer, randomHex(8), true);
  }

  private openLink(peer: PeerAddress, id: string, initiator: boolean): LinkEntry | undefined {
    const rtc = this.rtc!;
    let entry: LinkEntry;
    const link = new Link(
      {
        initiator,
        RTCPeerConnection: rtc.RTCPeerConnection,
        configuration: { ...rtc.configuration, iceServers: (this.init.iceServers ?? []).map((server) => ({ ...server })) },
        channelLabel: CHANNEL_LABEL,
        highWaterBytes: this.highWaterBytes,
        maxQueuedBytes: this.maxQueuedBytes,
        connectTimeoutMs: this.connectTimeoutMs,
        disconnectedGraceMs: this.disconnectedGraceMs,
        controlLabel: CONTROL_LABEL,
      },
      {
        signal: (signal) => this.sendSignal(peer, id, signal),
        open: () => this.onLinkOpen(peer, entry),
        message: (data) => this.onData(peer, entry, data),
        controlOpen: () => this.sendControl(entry, { t: 'peers', ids: this.peers() }),
        control: (text) => this.onControl(peer, entry, text),
        close: () => this.onLinkClosed(peer, entry),
        drained: () => this.checkDrained(),
      },
      this.counters,
    );
    entry = { id, link, initiator, opened: false, neighbours: new Set(), probe: undefined };
    this.links.set(peer, entry);
    return entry;
  }

  /** Through the signaling server when it has the peer in its room, else through a neighbour linked to it. */
  private sendSignal(peer: PeerAddress, link: string, signal: SimplePeerSignal): void {
    const data = { v: 1, link, signal } as unknown as Json;
    const client = this.signaling;
    let sent = false;
    if (client?.connected && client.peers().some((info) => info.id === peer)) {
      try {
        sent = client.signal(peer, data);
      } catch {
        sent = false;
      }
    }
    if (!sent) {
      for (const entry of this.links.values()) {
        if (entry.opened && entry.neighbours.has(peer) && this.sendControl(entry, { t: 'relay', to: peer, from: this.address, data })) {
          this.stats.signalsRelayed++;
          sent = true;
          break;
        }
      }
    }
    if (sent) this.stats.signalsSent++;
    else this.stats.droppedSignals++;
  }

  private sendControl(entry: LinkEntry, message: Control): boolean {
    return entry.link.sendControl(JSON.stringify(message));
  }

  private onControl(peer: PeerAddress, entry: LinkEntry, text: string): void {
    if (this.state !== 'open' || this.links.get(peer) !== entry) return;
    const message = parseControl(text);
    if (!message) {
      this.stats.droppedControl++;
      return;
    }
    switch (message.t) {
      case 'ping':
        this.sendControl(entry, { t: 'pong', n: message.n });
        return;
      case 'pong':
        if (entry.probe?.nonce === message.n) {
          clearTimeout(entry.probe.timer);
          entry.probe = undefined;
        }
        return;
      case 'peers':
        entry.neighbours = new Set(message.ids.filter((id) => id !== this.address));
        // Peers heard of through the mesh are connected as those of the room are.
        for (const id of entry.neighbours) if (this.address < id && !this.links.has(id) && this.links.size < this.maxPeers) this.connect(id);
        return;
      case 'relay':
        if (message.to === this.address) {
          this.onSignal(message.from, message.data);
        } else {
          // One hop only, and only what the neighbour itself says: no loops, no forged senders.
          const target = this.links.get(message.to);
          if (message.from === peer && target?.opened && this.sendControl(target, message)) this.stats.signalsRelayed++;
          else this.stats.droppedControl++;
        }
        return;
    }
  }

  /** Tell every neighbour whom this peer is linked to (once per burst of changes). */
  private scheduleGossip(): void {
    if (this.gossipScheduled) return;
    this.gossipScheduled = true;
    queueMicrotask(() => {
      this.gossipScheduled = false;
      if (this.state !== 'open') return;
      const message: Control = { t: 'peers', ids: this.peers() };
      for (const entry of this.links.values()) if (entry.opened) this.sendControl(entry, message);
    });
  }

  /** A peer left the signaling room: a crash looks like this first. A linked one must answer a probe. */
  private onPeerLeft(peer: PeerAddress): void {
    const entry = this.links.get(peer);
    if (!entry?.opened) {
      this.cancelReconnect(peer);
      return;
    }
    if (entry.probe || !entry.link.hasControl) return;
    const nonce = Math.floor(Math.random() * 2 ** 31);
    if (!this.sendControl(entry, { t: 'ping', n: nonce })) return;
    entry.probe = {
      nonce,
      timer: setTimeout(() => {
        entry.probe = undefined;
        if (this.links.get(peer) !== entry) return;
        this.stats.probesFailed++;
        entry.link.close('probe-timeout');
      }, this.probeTimeoutMs),
    };
  }

  private onSignal(from: string, data: Json): void {
    if (this.state === 'closed') return;
    this.stats.signalsReceived++;
    const envelope = parseEnvelope(data);
    if (!envelope || from === this.address) {
      this.stats.droppedSignals++;
      return;
    }
    const existing = this.links.get(from);
    if (envelope.signal.type === 'offer') {
      if (existing?.id === envelope.link || from > this.address) {
        // A repeated offer, or one from the peer that should answer: ours is the offer that counts.
        this.stats.droppedSignals++;
        return;
      }
      // A new attempt from the offerer replaces whatever we had: it gave up on the old one.
      if (existing) existing.link.close('replaced');
      if (this.links.size >= this.maxPeers) {
        this.stats.droppedSignals++;
        return;
      }
      this.openLink(from, envelope.link, false)?.link.signal(envelope.signal);
      return;
    }
    if (!existing || existing.id !== envelope.link) {
      this.stats.droppedSignals++; // for an attempt that is over
      return;
    }
    existing.link.signal(envelope.signal);
  }

  private onLinkOpen(peer: PeerAddress, entry: LinkEntry): void {
    if (this.links.get(peer) !== entry || this.state === 'closed') return;
    entry.opened = true;
    this.stats.linksOpened++;
    this.scheduleGossip();
    const pending = this.reconnects.get(peer);
    if (pending) pending.attempt = 0;
  }

  private onData(peer: PeerAddress, entry: LinkEntry, data: unknown): void {
    if (this.state !== 'open' || this.links.get(peer) !== entry) return;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      this.stats.droppedMalformed++;
      return;
    }
    if (bytes.byteLength > this.mtuBytes) {
      this.stats.droppedOversized++;
      return;
    }
    this.stats.framesReceived++;
    this.stats.bytesReceived += bytes.byteLength;
    let first = true;
    for (const handler of this.messageHandlers) {
      const owned = first ? bytes : bytes.slice(); // each handler owns its bytes
      first = false;
      callSafely(() => handler(peer, owned));
    }
  }

  private onLinkClosed(peer: PeerAddress, entry: LinkEntry): void {
    if (this.links.get(peer) === entry) this.links.delete(peer);
    clearTimeout(entry.probe?.timer);
    if (this.state === 'closed') return;
    if (entry.opened) {
      this.stats.linksLost++;
      this.scheduleGossip();
      // Never from inside send(): a link can break while writing.
      queueMicrotask(() => {
        if (this.state === 'closed') return;
        for (const handler of this.linkDownHandlers) callSafely(() => handler(peer));
      });
    } else {
      this.stats.linksFailed++;
    }
    if (entry.initiator && !this.links.has(peer)) this.scheduleReconnect(peer);
    // Its queue went with it: that may have been the last one holding frames.
    queueMicrotask(() => this.checkDrained());
  }

  private scheduleReconnect(peer: PeerAddress): void {
    const pending = this.reconnects.get(peer) ?? { timer: undefined, attempt: 0 };
    this.reconnects.set(peer, pending);
    if (pending.timer !== undefined) return;
    const delayMs = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** pending.attempt++);
    pending.timer = setTimeout(() => {
      pending.timer = undefined;
      if (this.state !== 'open' || this.links.has(peer)) return;
      if (this.present(peer)) this.connect(peer);
      else this.reconnects.delete(peer);
    }, delayMs * (0.75 + Math.random() / 2));
  }

  private cancelReconnect(peer: PeerAddress): void {
    const pending = this.reconnects.get(peer);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.reconnects.delete(peer);
  }

  // ---------------------------------------------------------------- closing

  private async shutDown(): Promise<void> {
    this.state = 'closed';
    for (const pending of this.reconnects.values()) clearTimeout(pending.timer);
    this.reconnects.clear();
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    const entries = [...this.links.values()];
    this.links.clear();
    for (const entry of entries) {
      clearTimeout(entry.probe?.timer);
      entry.link.close('closed', true);
    }
    if (this.ownsSignaling) await this.signaling?.close();
    const rtc = this.rtc;
    this.rtc = undefined;
    if (rtc?.release) {
      // Let the implementation finish closing the connections before it is released (a link
      // closes its connection on the next turn: its timer, set before this one, runs first).
      await new Promise((resolve) => setTimeout(resolve, 0));
      rtc.release();
    }
  }
}

function isAddress(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ADDRESS_CHARS;
}

/** A control message, or undefined: neighbours are not trusted either. */
export function parseControl(text: string): Control | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const message = value as Record<string, unknown>;
  switch (message['t']) {
    case 'ping':
    case 'pong':
      return Number.isInteger(message['n']) ? { t: message['t'], n: message['n'] as number } : undefined;
    case 'peers': {
      const ids = message['ids'];
      return Array.isArray(ids) && ids.length <= MAX_GOSSIP_IDS && ids.every(isAddress) ? { t: 'peers', ids } : undefined;
    }
    case 'relay':
      return isAddress(message['to']) && isAddress(message['from']) && 'data' in message
        ? { t: 'relay', to: message['to'], from: message['from'], data: message['data'] as Json }
        : undefined;
    default:
      return undefined;
  }
}

export function createMesh(init: WebRtcInit, resolveRtc: RtcResolver): WebRtcTransport {
  if (typeof init !== 'object' || init === null) throw new SynodError('INVALID_ARGUMENT', 'webrtc() takes an options object');
  return new WebRtcMesh(init, resolveRtc);
}


