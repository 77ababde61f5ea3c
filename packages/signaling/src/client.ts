/**
 * The signaling client, for Node and browsers: join a room under an id, follow who else is in it,
 * and relay opaque messages to a named peer of the room. It reconnects with backoff when the
 * server goes away and announces itself again; the peer list it reports is diffed across
 * reconnections, so a server restart shows up as no event at all when nobody changed.
 */
import { SynodError } from '@synod/core';
import { defaultWebSocket } from '#websocket';
import { isName, parseServerMessage, type ErrorCode, type Json, type PeerInfo } from './protocol.js';
import type { WebSocketConstructor, WebSocketLike } from './socket.js';

export interface SignalingClientOptions {
  /** This peer's id in the room (a transport address, say). Default: a random one. */
  readonly id?: string;
  /** Opaque JSON the others see with this peer's id. */
  readonly meta?: Json;
  /** Reconnect after the connection drops. Default true. */
  readonly reconnect?: boolean;
  /** First reconnection delay, doubled on each failure up to maxReconnectMs. Defaults 250 and 5000. */
  readonly minReconnectMs?: number;
  readonly maxReconnectMs?: number;
  /** Largest message signal() sends; the server's limit. Default 16 KiB. */
  readonly maxMessageBytes?: number;
  /** Default: the global WebSocket, else `ws` in Node. */
  readonly WebSocket?: WebSocketConstructor;
}

export interface SignalingEvents {
  /** Welcomed into the room (first time and after each reconnection). */
  open: () => void;
  /** The connection dropped; the client reconnects unless closed. */
  close: () => void;
  /** The full list of the other peers, after each welcome. */
  peers: (peers: readonly PeerInfo[]) => void;
  /** A peer arrived, or announced new metadata. */
  join: (peer: PeerInfo) => void;
  leave: (id: string) => void;
  signal: (from: string, data: Json) => void;
  /** The server refused a message. */
  error: (error: { readonly code: ErrorCode; readonly message: string }) => void;
}
export type SignalingEvent = keyof SignalingEvents;

export interface SignalingClientStats {
  connects: number;
  signalsSent: number;
  signalsReceived: number;
  /** Messages from the server that did not parse. */
  droppedMalformed: number;
  /** signal() calls refused while disconnected or with a full outgoing buffer. */
  droppedNotSent: number;
}

export interface SignalingClient {
  readonly url: string;
  readonly room: string;
  readonly id: string;
  /** True between a welcome and the connection's loss. */
  readonly connected: boolean;
  readonly stats: Readonly<SignalingClientStats>;
  /** The other peers of the room as last known (kept while reconnecting). */
  peers(): PeerInfo[];
  /** Resolves once welcomed into the room; rejects after timeoutMs (default 5000) or close(). */
  ready(timeoutMs?: number): Promise<void>;
  on<E extends SignalingEvent>(event: E, listener: SignalingEvents[E]): () => void;
  /** Relay `data` to peer `to` of the room. False when it could not be sent now (not connected). */
  signal(to: string, data: Json): boolean;
  /** Leaves the room and stops reconnecting. Idempotent. */
  close(): Promise<void>;
}

const OPEN = 1;
const CLOSE_REPLACED = 4000;
/** Outgoing bytes queued beyond which signal() refuses. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const encoder = new TextEncoder();

/** A listener that throws must not break the client; its error is still surfaced. */
function callSafely(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
    else
      queueMicrotask(() => {
        throw error;
      });
  }
}

function randomId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8));
  return `peer-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

class Client implements SignalingClient {
  readonly id: string;
  readonly stats: SignalingClientStats = { connects: 0, signalsSent: 0, signalsReceived: 0, droppedMalformed: 0, droppedNotSent: 0 };
  private socket: WebSocketLike | undefined;
  private welcomed = false;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly known = new Map<string, PeerInfo>();
  private readonly listeners = new Map<SignalingEvent, Set<(...args: any[]) => void>>();
  private readonly waiters = new Set<{ resolve: () => void; reject: (error: unknown) => void }>();
  private readonly maxMessageBytes: number;
  private socketClosed: (() => void) | undefined;

  constructor(
    readonly url: string,
    readonly room: string,
    private readonly options: SignalingClientOptions,
  ) {
    this.id = options.id ?? randomId();
    this.maxMessageBytes = options.maxMessageBytes ?? 16 * 1024;
    void this.connect();
  }

  get connected(): boolean {
    return this.welcomed;
  }

  peers(): PeerInfo[] {
    return [...this.known.values()];
  }

  ready(timeoutMs = 5000): Promise<void> {
    if (this.welcomed) return Promise.resolve();
    if (this.closed) return Promise.reject(new SynodError('CLOSED', 'the signaling client is closed'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new SynodError('TIMEOUT', `no welcome from ${this.url} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  on<E extends SignalingEvent>(event: E, listener: SignalingEvents[E]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  signal(to: string, data: Json): boolean {
    if (!isName(to)) throw new SynodError('INVALID_ARGUMENT', 'a peer id must be 1..255 characters without control characters');
    const text = JSON.stringify({ type: 'signal', to, data });
    if (encoder.encode(text).length > this.maxMessageBytes) {
      throw new SynodError('MESSAGE_TOO_LARGE', `a signaling message is limited to ${this.maxMessageBytes} bytes`);
    }
    const socket = this.socket;
    if (!this.welcomed || !socket || socket.readyState !== OPEN || socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.stats.droppedNotSent++;
      return false;
    }
    socket.send(text);
    this.stats.signalsSent++;
    return true;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    for (const waiter of this.waiters) waiter.reject(new SynodError('CLOSED', 'the signaling client is closed'));
    this.waiters.clear();
    const socket = this.socket;
    this.welcomed = false;
    if (!socket || socket.readyState > OPEN) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // A server that never answers the closing handshake must not hold the process.
      const timer = setTimeout(() => {
        (socket as { terminate?: () => void }).terminate?.();
        resolve();
      }, 1000);
      this.socketClosed = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        socket.close(1000, 'bye');
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private emit<E extends SignalingEvent>(event: E, ...args: Parameters<SignalingEvents[E]>): void {
    for (const listener of this.listeners.get(event) ?? []) callSafely(() => listener(...args));
  }

  private async connect(): Promise<void> {
    let WebSocketClass: WebSocketConstructor;
    try {
      WebSocketClass = this.options.WebSocket ?? (await defaultWebSocket());
    } catch (cause) {
      this.fail(new SynodError('TRANSPORT', 'no WebSocket implementation', { cause }));
      return;
    }
    if (this.closed) return;
    let socket: WebSocketLike;
    try {
      socket = new WebSocketClass(this.url);
    } catch (cause) {
      this.fail(new SynodError('INVALID_ARGUMENT', `cannot open a WebSocket to ${this.url}`, { cause }));
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const join = this.options.meta === undefined
        ? { type: 'join', room: this.room, id: this.id }
        : { type: 'join', room: this.room, id: this.id, meta: this.options.meta };
      socket.send(JSON.stringify(join));
    };
    socket.onmessage = (event) => this.onMessage(event.data);
    socket.onerror = () => undefined; // onclose follows and does the work
    socket.onclose = (event) => this.onClose(socket, event.code);
  }

  private fail(error: SynodError): void {
    this.closed = true;
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }

  private onMessage(data: unknown): void {
    const message = typeof data === 'string' ? parseServerMessage(data) : undefined;
    if (!message) {
      this.stats.droppedMalformed++;
      return;
    }
    switch (message.type) {
      case 'welcome': {
        this.welcomed = true;
        this.attempt = 0;
        this.stats.connects++;
        const now = new Map(message.peers.filter((peer) => peer.id !== this.id).map((peer) => [peer.id, peer]));
        for (const id of [...this.known.keys()]) {
          if (!now.has(id)) {
            this.known.delete(id);
            this.emit('leave', id);
          }
        }
        for (const [id, peer] of now) {
          const before = this.known.get(id);
          this.known.set(id, peer);
          if (!before || JSON.stringify(before.meta) !== JSON.stringify(peer.meta)) this.emit('join', peer);
        }
        for (const waiter of this.waiters) waiter.resolve();
        this.waiters.clear();
        this.emit('open');
        this.emit('peers', this.peers());
        return;
      }
      case 'join':
        if (message.peer.id === this.id) return;
        this.known.set(message.peer.id, message.peer);
        this.emit('join', message.peer);
        return;
      case 'leave':
        if (this.known.delete(message.id)) this.emit('leave', message.id);
        return;
      case 'signal':
        this.stats.signalsReceived++;
        this.emit('signal', message.from, message.data);
        return;
      case 'error':
        this.emit('error', { code: message.code, message: message.message });
        return;
    }
  }

  private onClose(socket: WebSocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    this.socketClosed?.();
    this.socketClosed = undefined;
    if (wasWelcomed) this.emit('close');
    if (this.closed) return;
    if (this.options.reconnect === false || code === CLOSE_REPLACED) {
      this.fail(new SynodError('TRANSPORT', `the signaling connection to ${this.url} closed (${code})`));
      return;
    }
    const minMs = this.options.minReconnectMs ?? 250;
    const maxMs = this.options.maxReconnectMs ?? 5000;
    const delayMs = Math.min(maxMs, minMs * 2 ** this.attempt++);
    // Jitter spreads the reconnections of a whole room after a server restart.
    this.reconnectTimer = setTimeout(() => void this.connect(), delayMs * (0.75 + Math.random() / 2));
  }
}

/** Joins `room` on the signaling server at `url` (`ws://127.0.0.1:8787`). */
export function signalingClient(url: string, room: string, options: SignalingClientOptions = {}): SignalingClient {
  if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) throw new SynodError('INVALID_ARGUMENT', `a signaling url is ws:// or wss://, got ${url}`);
  if (!isName(room)) throw new SynodError('INVALID_ARGUMENT', 'a room name must be 1..255 characters without control characters');
  if (options.id !== undefined && !isName(options.id)) throw new SynodError('INVALID_ARGUMENT', 'a peer id must be 1..255 characters without control characters');
  return new Client(url, room, options);
}
