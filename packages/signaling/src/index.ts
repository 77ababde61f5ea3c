export {
  signalingClient,
  type SignalingClient,
  type SignalingClientOptions,
  type SignalingClientStats,
  type SignalingEvent,
  type SignalingEvents,
} from './client.js';
export type { ClientMessage, ErrorCode, Json, PeerInfo, ServerMessage } from './protocol.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
