export { type Clock, realClock } from './clock.js';
export { createPeer, type Peer, type PeerOptions, type PeerStats, type CloseOptions } from './peer.js';
export type {
  Group,
  GroupEvent,
  GroupEvents,
  GroupStats,
  Handler,
  JoinOptions,
  Message,
  SendOptions,
  Sent,
  StateHandler,
  TimingOptions,
  ViewChange,
} from './group.js';
export type { Reply, RepliesWanted } from './replies.js';
export type { Data } from './payload.js';
export type { TraceOption } from './trace.js';
export type { GroupKey } from './auth.js';
export {
  emptyTransportStats,
  type PeerAddress,
  type Transport,
  type TransportFactory,
  type TransportStats,
} from './transport.js';
