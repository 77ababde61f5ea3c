/**
 * The rendezvous server: peers of one room find each other and relay opaque signaling messages
 * (WebRTC offers and answers) to a named peer of the same room. It keeps nothing that matters once
 * peers are connected: a restart loses the room lists, the clients reconnect and announce again,
 * and the groups they formed never notice.
 *
 * Every client is bounded: message size (larger ones are dropped and counted; far larger ones
 * close the connection), a token-bucket message rate (over-rate messages are dropped and counted),
 * and strikes: a client whose messages keep being refused is closed as abusive. Slow consumers
 * lose relayed messages instead of growing the server's buffers.
 */
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { SynodError } from '@synod/core';
import { parseClientMessage, type ErrorCode, type Json, type PeerInfo, type ServerMessage } from './protocol.js';

export interface SignalingServerOptions {
  /** Default 8787; 0 picks a free port. */
  readonly port?: number;
  /** Default '127.0.0.1'. The server listens on this address only. */
  readonly host?: string;
  /** Largest message processed. Default 16 KiB (an SDP offer with candidates is a few KiB). */
  readonly maxMessageBytes?: number;
  /** Sustained messages per second per client. Default 20. */
  readonly messagesPerSecond?: number;
  /** Burst of messages a client may send at once. Default 40. */
  readonly burst?: number;
  /** Refused messages (oversized, over-rate, malformed, out of place) before a client is closed. Default 20. */
  readonly maxStrikes?: number;
  /** Default 256. */
  readonly maxPeersPerRoom?: number;
  /** Connections at once. Default 4096. */
  readonly maxClients?: number;
  /** A connection that has not joined a room by then is closed. Default 10 000. */
  readonly joinTimeoutMs?: number;
  /** WebSocket ping period; a client that misses a pong is dropped. Default 30 000. */
  readonly pingIntervalMs?: number;
  /** Bytes queued towards one client beyond which relayed messages to it are dropped. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
}

export interface SignalingStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Signals relayed to their target. */
  relayed: number;
  droppedOversized: number;
  droppedRateLimited: number;
  /** Not JSON, not a known message, binary, or out of place (signal before join, second join). */
  droppedMalformed: number;
  /** Signals to a peer that is not in the sender's room. */
  droppedUnknownPeer: number;
  /** Messages not sent to a client whose outgoing buffer is full. */
  droppedSlowConsumer: number;
  /** Clients closed for too many refused messages or a message far over the limit. */
  closedAbusive: number;
  /** Connections refused: server full, room full. */
  refused: number;
}

export interface SignalingServer {
  readonly port: number;
  readonly host: string;
  /** `ws://host:port` */
  readonly url: string;
  readonly stats: Readonly<SignalingStats>;
  /** Open connections. */
  readonly connections: number;
  /** Room name → ids of the peers in it. */
  rooms(): Map<string, string[]>;
  /** Closes every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

interface Client {
  readonly socket: WebSocket;
  room: Map<string, Client> | undefined;
  roomName: string | undefined;
  id: string | undefined;
  meta: Json | undefined;
  tokens: number;
  refilledAtMs: number;
  strikes: number;
  alive: boolean;
  closing: boolean;
  joinTimer: ReturnType<typeof setTimeout> | undefined;
}

const OPEN = 1;
/** RFC 6455 close codes. */
const POLICY_VIOLATION = 1008;
const TRY_AGAIN_LATER = 1013;
/** Private close code: another connection took this peer id. */
export const CLOSE_REPLACED = 4000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 0) throw new SynodError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${value}`);
  return chosen;
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

export async function startSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const host = options.host ?? '127.0.0.1';
  const port = positiveInteger('port', options.port, 8787);
  const maxMessageBytes = positiveInteger('maxMessageBytes', options.maxMessageBytes, 16 * 1024);
  const messagesPerSecond = positiveInteger('messagesPerSecond', options.messagesPerSecond, 20);
  const burst = positiveInteger('burst', options.burst, 40);
  const maxStrikes = positiveInteger('maxStrikes', options.maxStrikes, 20);
  const maxPeersPerRoom = positiveInteger('maxPeersPerRoom', options.maxPeersPerRoom, 256);
  const maxClients = positiveInteger('maxClients', options.maxClients, 4096);
  const joinTimeoutMs = positiveInteger('joinTimeoutMs', options.joinTimeoutMs, 10_000);
  const pingIntervalMs = positiveInteger('pingIntervalMs', options.pingIntervalMs, 30_000);
  const maxBufferedBytes = positiveInteger('maxBufferedBytes', options.maxBufferedBytes, 1024 * 1024);

  const stats: SignalingStats = {
    accepted: 0,
    relayed: 0,
    droppedOversized: 0,
    droppedRateLimited: 0,
    droppedMalformed: 0,
    droppedUnknownPeer: 0,
    droppedSlowConsumer: 0,
    closedAbusive: 0,
    refused: 0,
  };
  const clients = new Set<Client>();
  const rooms = new Map<string, Map<string, Client>>();

  // Messages above maxMessageBytes but within 4× are dropped and counted; ws closes the
  // connection (1009) on anything larger without buffering it.
  const wss = new WebSocketServer({ host, port, maxPayload: maxMessageBytes * 4, clientTracking: false, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('error', () => undefined); // after listening, server errors surface per connection
  const address = wss.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;

  function send(client: Client, message: ServerMessage): boolean {
    if (client.socket.readyState !== OPEN) return false;
    if (client.socket.bufferedAmount > maxBufferedBytes) {
      stats.droppedSlowConsumer++;
      return false;
    }
    client.socket.send(JSON.stringify(message));
    return true;
  }

  function close(client: Client, code: number, reason: string): void {
    if (client.closing) return;
    client.closing = true;
    client.socket.close(code, reason);
    // A peer that never completes the closing handshake does not hold its slot for long.
    setTimeout(() => client.socket.terminate(), 1000).unref();
  }

  function refuse(client: Client, code: ErrorCode, message: string, strike: boolean): void {
    send(client, { type: 'error', code, message });
    if (strike && ++client.strikes > maxStrikes) {
      stats.closedAbusive++;
      close(client, POLICY_VIOLATION, 'too many refused messages');
    }
  }

  function takeToken(client: Client): boolean {
    const nowMs = performance.now();
    client.tokens = Math.min(burst, client.tokens + ((nowMs - client.refilledAtMs) * messagesPerSecond) / 1000);
    client.refilledAtMs = nowMs;
    if (client.tokens < 1) return false;
    client.tokens -= 1;
    return true;
  }

  function broadcast(room: Map<string, Client>, except: Client, message: ServerMessage): void {
    for (const other of room.values()) if (other !== except) send(other, message);
  }

  function leaveRoom(client: Client): void {
    const { room, roomName, id } = client;
    client.room = undefined;
    if (!room || roomName === undefined || id === undefined || room.get(id) !== client) return;
    room.delete(id);
    if (room.size === 0) rooms.delete(roomName);
    else broadcast(room, client, { type: 'leave', id });
  }

  function peerInfo(client: Client): PeerInfo {
    return client.meta === undefined ? { id: client.id! } : { id: client.id!, meta: client.meta };
  }

  function onMessage(client: Client, data: RawData, isBinary: boolean): void {
    if (client.closing) return;
    if (!takeToken(client)) {
      stats.droppedRateLimited++;
      refuse(client, 'rate-limited', `more than ${messagesPerSecond} messages per second`, true);
      return;
    }
    if (byteLength(data) > maxMessageBytes) {
      stats.droppedOversized++;
      refuse(client, 'too-large', `messages are limited to ${maxMessageBytes} bytes`, true);
      return;
    }
    const message = isBinary ? undefined : parseClientMessage(text(data));
    if (!message) {
      stats.droppedMalformed++;
      refuse(client, 'bad-message', 'not a signaling message', true);
      return;
    }
    if (message.type === 'join') {
      if (client.room) {
        stats.droppedMalformed++;
        refuse(client, 'already-joined', 'one join per connection', true);
        return;
      }
      let room = rooms.get(message.room);
      const previous = room?.get(message.id);
      if (room && !previous && room.size >= maxPeersPerRoom) {
        stats.refused++;
        refuse(client, 'room-full', `room ${message.room} has ${maxPeersPerRoom} peers`, false);
        close(client, TRY_AGAIN_LATER, 'room full');
        return;
      }
      if (!room) rooms.set(message.room, (room = new Map()));
      clearTimeout(client.joinTimer);
      client.joinTimer = undefined;
      if (previous) {
        // The newest connection for an id wins: a reconnecting peer must not wait until the
        // server notices that its old connection died.
        previous.room = undefined;
        close(previous, CLOSE_REPLACED, 'replaced by a newer connection');
      }
      client.room = room;
      client.roomName = message.room;
      client.id = message.id;
      client.meta = message.meta;
      const others = [...room.values()].map(peerInfo);
      room.set(message.id, client);
      send(client, { type: 'welcome', room: message.room, id: message.id, peers: others });
      broadcast(room, client, { type: 'join', peer: peerInfo(client) });
      return;
    }
    if (!client.room) {
      stats.droppedMalformed++;
      refuse(client, 'not-joined', 'join a room first', true);
      return;
    }
    const target = client.room.get(message.to);
    if (!target || target === client) {
      stats.droppedUnknownPeer++;
      refuse(client, 'unknown-peer', `no peer ${message.to} in room ${client.roomName}`, false);
      return;
    }
    if (send(target, { type: 'signal', from: client.id!, data: message.data })) stats.relayed++;
  }

  wss.on('connection', (socket) => {
    const client: Client = {
      socket,
      room: undefined,
      roomName: undefined,
      id: undefined,
      meta: undefined,
      tokens: burst,
      refilledAtMs: performance.now(),
      strikes: 0,
      alive: true,
      closing: false,
      joinTimer: undefined,
    };
    socket.on('error', (error: Error & { code?: string }) => {
      // ws closes the connection after a protocol error; a message over maxPayload is one.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        stats.droppedOversized++;
        stats.closedAbusive++;
      }
    });
    if (clients.size >= maxClients) {
      stats.refused++;
      client.closing = true;
      socket.close(TRY_AGAIN_LATER, 'server full');
      return;
    }
    stats.accepted++;
    clients.add(client);
    client.joinTimer = setTimeout(() => close(client, POLICY_VIOLATION, 'no join'), joinTimeoutMs);
    client.joinTimer.unref();
    socket.on('pong', () => (client.alive = true));
    socket.on('message', (data, isBinary) => onMessage(client, data, isBinary));
    socket.on('close', () => {
      clearTimeout(client.joinTimer);
      clients.delete(client);
      leaveRoom(client);
    });
  });

  const pinger = setInterval(() => {
    for (const client of clients) {
      if (!client.alive) {
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }, pingIntervalMs);
  pinger.unref();

  let closing: Promise<void> | undefined;
  return {
    port: boundPort,
    host,
    url: `ws://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    stats,
    get connections() {
      return clients.size;
    },
    rooms() {
      return new Map([...rooms].map(([name, room]) => [name, [...room.keys()]]));
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(pinger);
        for (const client of clients) {
          clearTimeout(client.joinTimer);
          client.socket.terminate();
        }
        clients.clear();
        rooms.clear();
        wss.close(() => resolve());
      });
      return closing;
    },
  };
}
