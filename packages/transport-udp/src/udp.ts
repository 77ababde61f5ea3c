/**
 * The Node `dgram` transport: one UDP socket per peer, best-effort datagrams, the core does
 * reliability, ordering and fragmentation (it is told `mtuBytes`).
 *
 * Peers are found by a static list of addresses and/or a signaling server's room; any peer that
 * sends a datagram is learned too, so a list need only be one-way. peers() — a joiner's contacts —
 * lists the peers heard from, by their full address (with the incarnation nonce); start() waits
 * (up to startWaitMs) until each peer it knows of has answered its HELLO or been found absent.
 * Liveness, for peers() and the linkDown hint:
 *   - a peer that closes says BYE: linkDown at once;
 *   - a peer that crashes leaves its port closed: after `probeAfterMs` of silence we send a PROBE
 *     from a connected throwaway socket, and the kernel's ICMP port-unreachable (which Node
 *     surfaces as ECONNREFUSED only on connected sockets, never on the main unconnected one) is a
 *     definite verdict: linkDown;
 *   - a peer restarted on the same port has a new nonce: linkDown for the old address;
 *   - plain silence is no verdict (a busy event loop is silent too): the core's failure detector
 *     decides; a learned peer silent for `forgetAfterMs` is forgotten without linkDown.
 */
import dgram from 'node:dgram';
import { SynodError, emptyTransportStats, type PeerAddress, type Transport, type TransportStats } from '@synod/core';
import { signalingClient, type SignalingClient, type WebSocketConstructor } from '@synod/signaling';
import { canonicalHost, endpointOf, formatUdpAddress, isLoopback, parseUdpAddress, type UdpAddress } from './address.js';
import { BATCH_PREFIX_BYTES, HEADER_BYTES, Kind, controlDatagram, readBatch, readHeader, writeHeader } from './wire.js';

export interface UdpSignalingInit {
  /** `ws://127.0.0.1:8787` */
  readonly url: string;
  /** Room of the signaling server this transport announces itself in. Default 'synod'. */
  readonly room?: string;
  /** Default: the global WebSocket, else `ws`. */
  readonly WebSocket?: WebSocketConstructor;
}

export interface UdpInit {
  /** IP literal to bind (no DNS names). Default '127.0.0.1'; '::1' for IPv6. */
  readonly host?: string;
  /** Default 0: the system picks a free port. */
  readonly port?: number;
  /** Addresses of peers to contact (`udp:127.0.0.1:40001`, `udp:[::1]:40001`); this peer's own is skipped. */
  readonly peers?: readonly string[];
  /** A signaling server to announce this peer in and learn the others from. */
  readonly signaling?: string | UdpSignalingInit;
  /**
   * Largest payload of one datagram (the 10-byte transport header comes on top). Default 8 KiB on
   * loopback (lo's MTU is 64 KiB, so no IP fragmentation, and a lost datagram costs one small
   * retransmission), 1200 elsewhere (fits IPv6's 1280-byte minimum path MTU: never fragmented).
   */
  readonly mtuBytes?: number;
  /** A HELLO goes to a peer nothing else went to for this long. Default 250. */
  readonly keepaliveMs?: number;
  /** A peer silent this long is probed for ICMP port-unreachable. Default 1000. */
  readonly probeAfterMs?: number;
  /** A learned peer (not listed, not from signaling) silent this long is forgotten. Default 30 000. */
  readonly forgetAfterMs?: number;
  /** Socket addresses remembered at once; datagrams from more are dropped and counted. Default 1024. */
  readonly maxPeers?: number;
  /** SO_RCVBUF / SO_SNDBUF asked for (the kernel caps them at net.core.rmem_max / wmem_max). Default 4 MiB. */
  readonly socketBufferBytes?: number;
  /** Bytes queued in libuv (the kernel buffer full) beyond which sends are dropped and counted. Default 4 MiB. */
  readonly maxSendQueueBytes?: number;
  /**
   * Bundle the frames sent to one peer in one turn of the event loop into as few datagrams as fit
   * the MTU (JGroups' bundler): a few syscalls instead of one per frame. Default true.
   */
  readonly bundle?: boolean;
  /** How long start() waits for the signaling server's welcome. Default 5000. */
  readonly signalingTimeoutMs?: number;
  /**
   * How long start() waits for the peers it knows of (static list, signaling) to answer its HELLO
   * or be found absent (ICMP port-unreachable, immediate on loopback). Default 1000.
   */
  readonly startWaitMs?: number;
}

export interface UdpStats extends TransportStats {
  /** Datagrams carrying frames (framesSent / framesReceived count frames: a datagram may bundle several). */
  datagramsSent: number;
  datagramsReceived: number;
  /** Datagrams without a valid transport header. */
  droppedMalformed: number;
  /** Datagrams from a finished incarnation, or meant for another incarnation of this port. */
  droppedStale: number;
  /** Sends dropped because the socket's send queue was full. */
  droppedBackpressure: number;
  /** Datagrams from a new socket address while maxPeers are remembered. */
  droppedUnknownPeer: number;
  /** Send errors reported by the socket. */
  sendErrors: number;
  controlSent: number;
  controlReceived: number;
  probesSent: number;
  /** Peers found gone by ICMP port-unreachable. */
  peersRefused: number;
}

export interface UdpTransport extends Transport {
  readonly stats: UdpStats;
  /** The receive buffer the kernel granted, in bytes (0 before start). */
  readonly receiveBufferBytes: number;
  /** Contact another peer by address (as if it were in the static list). Malformed addresses throw. */
  addPeer(address: string): void;
  /** Stops at once without BYE, as a crash looks to the peers (tests, fault injection). */
  abort(): void;
}

type EndpointState = 'unknown' | 'alive' | 'gone';

interface Endpoint {
  readonly endpoint: string;
  /** Its current full address (with the nonce when known): what handlers see as `from`. */
  id: string;
  readonly host: string;
  readonly port: number;
  /** The incarnation last heard of (or announced by signaling); undefined for a bare listed address. */
  nonce: number | undefined;
  /** From the static list, addPeer() or signaling: contacted even when silent or gone. */
  listed: boolean;
  state: EndpointState;
  /** Whether a datagram from the current incarnation arrived: only then is linkDown meaningful. */
  heard: boolean;
  sinceMs: number;
  lastHeardMs: number;
  lastSentMs: number;
  lastProbeMs: number;
  probing: boolean;
  /** Finished incarnations at this socket address (most recent last, a few kept). */
  readonly retired: number[];
}

const MAX_UDP_PAYLOAD = 65_507;
const RETIRED_KEPT = 8;
const PROBE_WAIT_MS = 250;
const MAX_PROBES_IN_FLIGHT = 16;
const PARSE_CACHE_SIZE = 4096;

/** Frames bound for one destination in this turn of the event loop. */
interface Bundle {
  readonly address: UdpAddress;
  /** HEADER_BYTES + mtuBytes: frames are written from HEADER_BYTES on, each after its length. */
  readonly buffer: Buffer;
  used: number;
  count: number;
}

function option(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) {
    throw new SynodError('INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return chosen;
}

function randomNonce(): number {
  const word = new Uint32Array(1);
  do globalThis.crypto.getRandomValues(word);
  while (word[0] === 0);
  return word[0]!;
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

class Udp implements UdpTransport {
  readonly orderedLinks = false;
  readonly mtuBytes: number;
  readonly stats: UdpStats = {
    ...emptyTransportStats(),
    datagramsSent: 0,
    datagramsReceived: 0,
    droppedMalformed: 0,
    droppedStale: 0,
    droppedBackpressure: 0,
    droppedUnknownPeer: 0,
    sendErrors: 0,
    controlSent: 0,
    controlReceived: 0,
    probesSent: 0,
    peersRefused: 0,
  };
  private readonly host: string;
  private readonly family: 4 | 6;
  private readonly requestedPort: number;
  private readonly keepaliveMs: number;
  private readonly probeAfterMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxPeers: number;
  private readonly socketBufferBytes: number;
  private readonly maxSendQueueBytes: number;
  private readonly signalingTimeoutMs: number;
  private readonly startWaitMs: number;
  private startWaiter: (() => void) | undefined;
  private readonly signalingInit: UdpSignalingInit | undefined;
  private state: 'created' | 'starting' | 'open' | 'closed' = 'created';
  private socket: dgram.Socket | undefined;
  private nonce = 0;
  private port = 0;
  private self = '';
  private address: PeerAddress;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly parsed = new Map<string, UdpAddress | undefined>();
  private readonly messageHandlers = new Set<(from: PeerAddress, bytes: Uint8Array) => void>();
  private readonly linkDownHandlers = new Set<(peer: PeerAddress) => void>();
  private readonly probes = new Set<dgram.Socket>();
  private readonly pendingListed: UdpAddress[] = [];
  private readonly bundling: boolean;
  private readonly bundles = new Map<string, Bundle>();
  private flushScheduled = false;
  private readonly canonical = new Map<string, string | undefined>();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private signaling: SignalingClient | undefined;
  private closing: Promise<void> | undefined;

  constructor(init: UdpInit) {
    const ip = canonicalHost(init.host ?? '127.0.0.1');
    if (!ip) throw new SynodError('INVALID_ARGUMENT', `host must be an IP literal, got ${init.host}`);
    this.host = ip.host;
    this.family = ip.family;
    this.requestedPort = option('port', init.port, 0, 0, 65535);
    const defaultMtu = isLoopback(this.host, this.family) ? 8192 : 1200;
    this.mtuBytes = option('mtuBytes', init.mtuBytes, defaultMtu, 64, MAX_UDP_PAYLOAD - HEADER_BYTES);
    this.keepaliveMs = option('keepaliveMs', init.keepaliveMs, 250, 10);
    this.probeAfterMs = option('probeAfterMs', init.probeAfterMs, 1000, 10);
    this.forgetAfterMs = option('forgetAfterMs', init.forgetAfterMs, 30_000, 10);
    this.maxPeers = option('maxPeers', init.maxPeers, 1024, 1);
    this.socketBufferBytes = option('socketBufferBytes', init.socketBufferBytes, 4 * 1024 * 1024, 0);
    this.maxSendQueueBytes = option('maxSendQueueBytes', init.maxSendQueueBytes, 4 * 1024 * 1024, 0);
    this.signalingTimeoutMs = option('signalingTimeoutMs', init.signalingTimeoutMs, 5000, 1);
    this.startWaitMs = option('startWaitMs', init.startWaitMs, 1000, 0);
    this.bundling = init.bundle ?? true;
    this.signalingInit = typeof init.signaling === 'string' ? { url: init.signaling } : init.signaling;
    for (const address of init.peers ?? []) this.pendingListed.push(this.parseListed(address));
    this.address = formatUdpAddress(this.host, this.requestedPort);
  }

  get localId(): PeerAddress {
    return this.address;
  }

  get receiveBufferBytes(): number {
    try {
      return this.socket && this.state === 'open' ? this.socket.getRecvBufferSize() : 0;
    } catch {
      return 0;
    }
  }

  async start(): Promise<void> {
    if (this.state === 'closed') throw new SynodError('CLOSED', `transport ${this.localId} is closed`);
    if (this.state !== 'created') return;
    this.state = 'starting';
    const socket = dgram.createSocket({
      type: this.family === 4 ? 'udp4' : 'udp6',
      ipv6Only: this.family === 6,
      ...(this.socketBufferBytes > 0 ? { recvBufferSize: this.socketBufferBytes, sendBufferSize: this.socketBufferBytes } : {}),
    });
    this.socket = socket;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.requestedPort, this.host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (cause) {
      this.state = 'closed';
      socket.close();
      throw new SynodError('TRANSPORT', `cannot bind UDP ${endpointOf(this.host, this.requestedPort)}`, { cause });
    }
    // After bind, the socket's errors are send errors: counted, never thrown.
    socket.on('error', () => this.stats.sendErrors++);
    socket.on('message', (datagram, remote) => this.onDatagram(datagram, remote));
    if (this.state !== 'starting') return; // aborted while binding
    this.port = socket.address().port;
    this.nonce = randomNonce();
    this.self = endpointOf(this.host, this.port);
    this.address = formatUdpAddress(this.host, this.port, this.nonce);
    this.state = 'open';
    for (const listed of this.pendingListed.splice(0)) this.list(listed);
    this.ticker = setInterval(() => this.tick(), this.keepaliveMs);
    this.ticker.unref();
    if (this.signalingInit) await this.startSignaling(this.signalingInit);
    if (this.state === 'open') await this.awaitKnownPeers();
  }

  /**
   * Until every peer known so far has answered or been found absent (or startWaitMs passed), so
   * that peers() — a joiner's contacts — holds the peers that are there, and only those.
   */
  private async awaitKnownPeers(): Promise<void> {
    const pending = [...this.endpoints.values()];
    for (const endpoint of pending) this.probe(endpoint);
    const settled = () => this.state !== 'open' || pending.every((endpoint) => endpoint.heard || endpoint.state === 'gone');
    if (settled() || this.startWaitMs === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.startWaitMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.startWaiter = () => {
        if (!settled()) return;
        this.startWaiter = undefined;
        done();
      };
    });
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
    const address = this.parse(to);
    if (!address || address.family !== this.family || address.endpoint === this.self) {
      this.stats.droppedUnreachable++;
      return;
    }
    const endpoint = this.endpoints.get(address.endpoint);
    if (endpoint && this.finished(endpoint, address.nonce)) {
      this.stats.droppedUnreachable++;
      return;
    }
    if (this.socket!.getSendQueueSize() > this.maxSendQueueBytes) {
      this.stats.droppedBackpressure++;
      return;
    }
    this.stats.framesSent++;
    this.stats.bytesSent += bytes.byteLength;
    if (endpoint) endpoint.lastSentMs = performance.now();
    const framed = BATCH_PREFIX_BYTES + bytes.byteLength;
    if (!this.bundling || framed > this.mtuBytes) {
      // Alone in its datagram; whatever is bundled for this peer goes first, to keep the order.
      this.flushBundle(to);
      const datagram = Buffer.allocUnsafe(HEADER_BYTES + bytes.byteLength);
      writeHeader(datagram, Kind.Data, this.nonce, address.nonce ?? 0);
      datagram.set(bytes, HEADER_BYTES);
      this.transmit(datagram, address);
      return;
    }
    let bundle = this.bundles.get(to);
    if (bundle && bundle.used + framed > HEADER_BYTES + this.mtuBytes) {
      this.flushBundle(to);
      bundle = undefined;
    }
    if (!bundle) {
      bundle = { address, buffer: Buffer.allocUnsafe(HEADER_BYTES + this.mtuBytes), used: HEADER_BYTES, count: 0 };
      this.bundles.set(to, bundle);
    }
    bundle.buffer[bundle.used] = bytes.byteLength >> 8;
    bundle.buffer[bundle.used + 1] = bytes.byteLength & 0xff;
    bundle.buffer.set(bytes, bundle.used + BATCH_PREFIX_BYTES);
    bundle.used += framed;
    bundle.count++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the poll phase: replies to every datagram read in this turn share datagrams.
      setImmediate(() => this.flushAll());
    }
  }

  private transmit(datagram: Uint8Array, address: UdpAddress): void {
    this.socket!.send(datagram, address.port, address.host);
    this.stats.datagramsSent++;
  }

  private flushBundle(to: string): void {
    const bundle = this.bundles.get(to);
    if (!bundle) return;
    this.bundles.delete(to);
    const { buffer, address } = bundle;
    if (bundle.count === 1) {
      // A lone frame travels as plain DATA: the header moves over its length prefix.
      writeHeader(buffer.subarray(BATCH_PREFIX_BYTES), Kind.Data, this.nonce, address.nonce ?? 0);
      this.transmit(buffer.subarray(BATCH_PREFIX_BYTES, bundle.used), address);
    } else {
      writeHeader(buffer, Kind.Batch, this.nonce, address.nonce ?? 0);
      this.transmit(buffer.subarray(0, bundle.used), address);
    }
  }

  private flushAll(): void {
    this.flushScheduled = false;
    if (this.state !== 'open') {
      this.bundles.clear();
      return;
    }
    for (const to of [...this.bundles.keys()]) this.flushBundle(to);
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
    for (const endpoint of this.endpoints.values()) {
      if (endpoint.state === 'alive' && endpoint.heard) peers.push(endpoint.id);
    }
    return peers;
  }

  addPeer(address: string): void {
    const parsed = this.parseListed(address);
    if (this.state === 'open') this.list(parsed);
    else if (this.state !== 'closed') this.pendingListed.push(parsed);
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown(true);
    return this.closing;
  }

  abort(): void {
    this.closing ??= this.shutDown(false);
  }

  // ---------------------------------------------------------------- receiving

  private onDatagram(datagram: Buffer, remote: dgram.RemoteInfo): void {
    if (this.state !== 'open') return;
    const header = readHeader(datagram);
    if (!header) {
      this.stats.droppedMalformed++;
      return;
    }
    if (header.kind === Kind.Probe) {
      // From a throwaway socket: nothing to learn, nothing to answer.
      this.stats.controlReceived++;
      return;
    }
    if (header.destinationNonce !== 0 && header.destinationNonce !== this.nonce) {
      this.stats.droppedStale++; // meant for an earlier process on this port
      return;
    }
    const payloadBytes = datagram.length - HEADER_BYTES;
    if ((header.kind === Kind.Data || header.kind === Kind.Batch) && payloadBytes > this.mtuBytes) {
      this.stats.droppedOversized++;
      return;
    }
    const host = this.canonicalOf(remote.address);
    const key = host === undefined ? undefined : endpointOf(host, remote.port);
    if (key === undefined || key === this.self) {
      this.stats.droppedMalformed++;
      return;
    }
    let endpoint = this.endpoints.get(key);
    if (!endpoint) {
      if (this.endpoints.size >= this.maxPeers) {
        this.stats.droppedUnknownPeer++;
        return;
      }
      endpoint = this.addEndpoint(host!, remote.port, false);
    }
    if (endpoint.retired.includes(header.senderNonce)) {
      this.stats.droppedStale++; // a late datagram of a finished incarnation
      return;
    }
    const nowMs = performance.now();
    if (endpoint.nonce !== header.senderNonce) {
      // A new process on this port: the old one is over.
      if (endpoint.nonce !== undefined) this.retire(endpoint);
      endpoint.nonce = header.senderNonce;
      endpoint.id = formatUdpAddress(endpoint.host, endpoint.port, endpoint.nonce);
      endpoint.heard = false;
    }
    if (header.kind === Kind.Bye) {
      this.stats.controlReceived++;
      this.retire(endpoint);
      return;
    }
    endpoint.heard = true;
    endpoint.state = 'alive';
    endpoint.lastHeardMs = nowMs;
    this.startWaiter?.();
    if (header.kind !== Kind.Data && header.kind !== Kind.Batch) {
      this.stats.controlReceived++;
      if (header.kind === Kind.Hello) this.sendControl(endpoint, Kind.HelloReply);
      return;
    }
    const frames =
      header.kind === Kind.Data ? [new Uint8Array(datagram.buffer, datagram.byteOffset + HEADER_BYTES, payloadBytes)] : readBatch(datagram);
    if (!frames) {
      this.stats.droppedMalformed++;
      return;
    }
    this.stats.datagramsReceived++;
    const from = endpoint.id;
    for (const frame of frames) {
      this.stats.framesReceived++;
      this.stats.bytesReceived += frame.byteLength;
      let first = true;
      for (const handler of this.messageHandlers) {
        // Each handler owns its bytes (views of one datagram that nobody else writes); a plain
        // Uint8Array, not a Buffer.
        const bytes = first ? frame : frame.slice();
        callSafely(() => handler(from, bytes));
        first = false;
      }
      if (this.state !== 'open') return; // a handler closed the transport
    }
  }

  private canonicalOf(address: string): string | undefined {
    if (this.canonical.has(address)) return this.canonical.get(address);
    const host = canonicalHost(address)?.host;
    if (this.canonical.size >= PARSE_CACHE_SIZE) this.canonical.clear();
    this.canonical.set(address, host);
    return host;
  }

  // ---------------------------------------------------------------- peers and liveness

  private parse(address: string): UdpAddress | undefined {
    if (this.parsed.has(address)) return this.parsed.get(address);
    const parsed = parseUdpAddress(address);
    if (this.parsed.size >= PARSE_CACHE_SIZE) this.parsed.clear();
    this.parsed.set(address, parsed);
    return parsed;
  }

  private parseListed(address: string): UdpAddress {
    const parsed = parseUdpAddress(address);
    if (!parsed) throw new SynodError('INVALID_ARGUMENT', `not a UDP peer address: ${address} (e.g. udp:127.0.0.1:40001 or udp:[::1]:40001)`);
    if (parsed.family !== this.family) {
      throw new SynodError('INVALID_ARGUMENT', `${address} is IPv${parsed.family}; this transport binds IPv${this.family} ${this.host}`);
    }
    return parsed;
  }

  private addEndpoint(host: string, port: number, listed: boolean): Endpoint {
    const nowMs = performance.now();
    const endpoint: Endpoint = {
      endpoint: endpointOf(host, port),
      id: formatUdpAddress(host, port),
      host,
      port,
      nonce: undefined,
      listed,
      state: 'unknown',
      heard: false,
      sinceMs: nowMs,
      lastHeardMs: nowMs,
      lastSentMs: -Infinity,
      lastProbeMs: nowMs,
      probing: false,
      retired: [],
    };
    this.endpoints.set(endpoint.endpoint, endpoint);
    return endpoint;
  }

  /** A peer from the static list, addPeer() or signaling. */
  private list(address: UdpAddress): void {
    if (address.endpoint === this.self || address.family !== this.family) return;
    let endpoint = this.endpoints.get(address.endpoint);
    if (!endpoint) endpoint = this.addEndpoint(address.host, address.port, true);
    endpoint.listed = true;
    if (address.nonce !== undefined && endpoint.nonce === undefined && !endpoint.retired.includes(address.nonce)) {
      endpoint.nonce = address.nonce;
      endpoint.id = formatUdpAddress(endpoint.host, endpoint.port, endpoint.nonce);
      if (endpoint.state === 'gone') endpoint.state = 'unknown';
    }
    this.sendControl(endpoint, Kind.Hello);
  }

  /** True when `nonce` names an incarnation at this endpoint that is over. */
  private finished(endpoint: Endpoint, nonce: number | undefined): boolean {
    if (nonce !== undefined && endpoint.retired.includes(nonce)) return true;
    return endpoint.state === 'gone' && (nonce === undefined || nonce === endpoint.nonce);
  }

  /** The current incarnation of `endpoint` is over (BYE, ICMP refusal, or a successor spoke). */
  private retire(endpoint: Endpoint): void {
    const nonce = endpoint.nonce;
    const wasHeard = endpoint.heard && endpoint.state !== 'gone';
    if (nonce !== undefined && !endpoint.retired.includes(nonce)) {
      endpoint.retired.push(nonce);
      if (endpoint.retired.length > RETIRED_KEPT) endpoint.retired.shift();
    }
    endpoint.state = 'gone';
    endpoint.heard = false;
    endpoint.sinceMs = performance.now();
    if (wasHeard && nonce !== undefined) {
      const peer = formatUdpAddress(endpoint.host, endpoint.port, nonce);
      for (const handler of this.linkDownHandlers) callSafely(() => handler(peer));
    }
    this.startWaiter?.();
  }

  private sendControl(endpoint: Endpoint, kind: Kind, done?: () => void): void {
    const socket = this.socket!;
    socket.send(controlDatagram(kind, this.nonce, endpoint.state === 'gone' ? 0 : (endpoint.nonce ?? 0)), endpoint.port, endpoint.host, (error) => {
      if (error) this.stats.sendErrors++;
      done?.();
    });
    this.stats.controlSent++;
    endpoint.lastSentMs = performance.now();
  }

  private tick(): void {
    if (this.state !== 'open') return;
    const nowMs = performance.now();
    for (const endpoint of [...this.endpoints.values()]) {
      const silentMs = nowMs - Math.max(endpoint.lastHeardMs, endpoint.sinceMs);
      if (!endpoint.listed && silentMs > this.forgetAfterMs) {
        this.endpoints.delete(endpoint.endpoint);
        continue;
      }
      if (endpoint.state === 'gone') {
        // A listed peer may come back (a restart): keep saying hello, now and then.
        if (endpoint.listed && nowMs - endpoint.lastSentMs >= this.probeAfterMs) this.sendControl(endpoint, Kind.Hello);
        continue;
      }
      if (nowMs - endpoint.lastSentMs >= this.keepaliveMs) this.sendControl(endpoint, Kind.Hello);
      if (silentMs > this.probeAfterMs && nowMs - endpoint.lastProbeMs > this.probeAfterMs) this.probe(endpoint);
    }
  }

  /** Ask the kernel whether anybody still listens on a silent peer's port. */
  private probe(endpoint: Endpoint): void {
    if (endpoint.probing || this.probes.size >= MAX_PROBES_IN_FLIGHT) return;
    endpoint.probing = true;
    endpoint.lastProbeMs = performance.now();
    this.stats.probesSent++;
    const nonce = endpoint.nonce;
    const socket = dgram.createSocket({ type: this.family === 4 ? 'udp4' : 'udp6', ipv6Only: this.family === 6 });
    this.probes.add(socket);
    let finished = false;
    const finish = (refused: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      endpoint.probing = false;
      this.probes.delete(socket);
      try {
        socket.close();
      } catch {
        // already closed by shutDown
      }
      if (refused && this.state === 'open' && this.endpoints.get(endpoint.endpoint) === endpoint && endpoint.nonce === nonce && endpoint.state !== 'gone') {
        this.stats.peersRefused++;
        this.retire(endpoint);
      }
    };
    const timer = setTimeout(() => finish(false), PROBE_WAIT_MS);
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ECONNREFUSED'));
    socket.bind(0, this.host, () => {
      socket.connect(endpoint.port, endpoint.host, (error?: Error) => {
        if (error || finished) return finish(false);
        socket.send(controlDatagram(Kind.Probe, this.nonce, 0), (sendError) => {
          if (sendError) finish((sendError as NodeJS.ErrnoException).code === 'ECONNREFUSED');
        });
      });
    });
  }

  // ---------------------------------------------------------------- signaling

  private async startSignaling(init: UdpSignalingInit): Promise<void> {
    const client = signalingClient(init.url, init.room ?? 'synod', {
      id: this.address,
      meta: { transport: 'udp' },
      ...(init.WebSocket ? { WebSocket: init.WebSocket } : {}),
    });
    this.signaling = client;
    const learn = (id: string) => {
      const address = parseUdpAddress(id);
      if (address && address.family === this.family && this.state === 'open') this.list(address);
    };
    client.on('peers', (peers) => peers.forEach((peer) => learn(peer.id)));
    client.on('join', (peer) => learn(peer.id));
    client.on('leave', (id) => {
      // A peer that left the room is not gone from the group (the server may have restarted);
      // only an address never heard from is dropped.
      const address = parseUdpAddress(id);
      const endpoint = address && this.endpoints.get(address.endpoint);
      if (endpoint && !endpoint.heard && endpoint.nonce === address.nonce) this.endpoints.delete(endpoint.endpoint);
    });
    try {
      await client.ready(this.signalingTimeoutMs);
    } catch (cause) {
      await this.close();
      throw new SynodError('TRANSPORT', `no answer from the signaling server ${init.url}`, { cause });
    }
  }

  // ---------------------------------------------------------------- closing

  private async shutDown(sayBye: boolean): Promise<void> {
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    clearInterval(this.ticker);
    for (const probe of this.probes) {
      try {
        probe.close();
      } catch {
        // closed already
      }
    }
    this.probes.clear();
    if (!sayBye) this.bundles.clear();
    const signaling = this.signaling?.close();
    const socket = this.socket;
    if (socket && wasOpen && sayBye) {
      // What was sent before close() still goes out, ahead of the BYE.
      for (const to of [...this.bundles.keys()]) this.flushBundle(to);
      const farewells: Promise<void>[] = [];
      for (const endpoint of this.endpoints.values()) {
        if (endpoint.state === 'gone') continue;
        farewells.push(new Promise<void>((resolve) => this.sendControl(endpoint, Kind.Bye, resolve)));
      }
      await Promise.all(farewells);
    }
    if (socket && (wasOpen || this.port !== 0)) {
      await new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
    } else if (socket) {
      try {
        socket.close();
      } catch {
        // not bound yet, or closed
      }
    }
    await signaling;
  }
}

/** A UDP transport: `udp({ host: '127.0.0.1', port: 40001, peers: ['udp:127.0.0.1:40002'] })`. */
export function udp(init: UdpInit = {}): UdpTransport {
  if (typeof init !== 'object' || init === null) throw new SynodError('INVALID_ARGUMENT', 'udp() takes an options object');
  return new Udp(init);
}
