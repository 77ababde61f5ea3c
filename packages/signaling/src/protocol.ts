/**
 * The signaling wire protocol: JSON text messages over one WebSocket per peer and room.
 *
 *   client → server   { type: 'join', room, id, meta? }        once, first
 *                     { type: 'signal', to, data }             relay to a peer of the same room
 *   server → client   { type: 'welcome', room, id, peers }     after join: the others in the room
 *                     { type: 'join', peer }                   a peer arrived (or updated its meta)
 *                     { type: 'leave', id }                    a peer's connection closed
 *                     { type: 'signal', from, data }           relayed; `from` is set by the server
 *                     { type: 'error', code, message }         a message was refused (and counted)
 *
 * Both sides treat what they receive as hostile: every parser returns undefined rather than throw.
 * `meta` and `data` are opaque JSON (WebRTC offers and answers, a transport kind, …).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface PeerInfo {
  readonly id: string;
  readonly meta?: Json;
}

export type ClientMessage =
  | { readonly type: 'join'; readonly room: string; readonly id: string; readonly meta?: Json }
  | { readonly type: 'signal'; readonly to: string; readonly data: Json };

export type ErrorCode =
  | 'bad-message'
  | 'too-large'
  | 'rate-limited'
  | 'not-joined'
  | 'already-joined'
  | 'unknown-peer'
  | 'room-full'
  | 'server-full';

export type ServerMessage =
  | { readonly type: 'welcome'; readonly room: string; readonly id: string; readonly peers: readonly PeerInfo[] }
  | { readonly type: 'join'; readonly peer: PeerInfo }
  | { readonly type: 'leave'; readonly id: string }
  | { readonly type: 'signal'; readonly from: string; readonly data: Json }
  | { readonly type: 'error'; readonly code: ErrorCode; readonly message: string };

/** Longest room name or peer id, in characters. */
export const MAX_NAME_LENGTH = 255;

/** A room or peer id: 1..255 characters, none of them a control character. */
export function isName(value: unknown): value is string {
  // eslint-disable-next-line no-control-regex
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH && !/[\u0000-\u001f\u007f]/.test(value);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function isPeerInfo(value: unknown): value is PeerInfo {
  return typeof value === 'object' && value !== null && isName((value as { id?: unknown }).id);
}

/** What the server accepts from a client. */
export function parseClientMessage(text: string): ClientMessage | undefined {
  const message = parseObject(text);
  if (!message) return undefined;
  switch (message['type']) {
    case 'join':
      if (!isName(message['room']) || !isName(message['id'])) return undefined;
      return message['meta'] === undefined
        ? { type: 'join', room: message['room'], id: message['id'] }
        : { type: 'join', room: message['room'], id: message['id'], meta: message['meta'] as Json };
    case 'signal':
      if (!isName(message['to']) || !('data' in message)) return undefined;
      return { type: 'signal', to: message['to'], data: message['data'] as Json };
    default:
      return undefined;
  }
}

/** What a client accepts from the server (a server is not trusted either). */
export function parseServerMessage(text: string): ServerMessage | undefined {
  const message = parseObject(text);
  if (!message) return undefined;
  switch (message['type']) {
    case 'welcome': {
      const peers = message['peers'];
      if (!isName(message['room']) || !isName(message['id']) || !Array.isArray(peers) || !peers.every(isPeerInfo)) return undefined;
      return { type: 'welcome', room: message['room'], id: message['id'], peers: peers.map(peerInfo) };
    }
    case 'join':
      return isPeerInfo(message['peer']) ? { type: 'join', peer: peerInfo(message['peer']) } : undefined;
    case 'leave':
      return isName(message['id']) ? { type: 'leave', id: message['id'] } : undefined;
    case 'signal':
      return isName(message['from']) && 'data' in message ? { type: 'signal', from: message['from'], data: message['data'] as Json } : undefined;
    case 'error':
      return typeof message['code'] === 'string' && typeof message['message'] === 'string'
        ? { type: 'error', code: message['code'] as ErrorCode, message: message['message'] }
        : undefined;
    default:
      return undefined;
  }
}

function peerInfo(value: PeerInfo): PeerInfo {
  return value.meta === undefined ? { id: value.id } : { id: value.id, meta: value.meta };
}
