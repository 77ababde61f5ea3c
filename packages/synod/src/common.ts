// What every platform gets: the Group API, the typed error, the memory transport, the signaling
// client, storage (IndexedDB in browsers, files in Node: @synod/storage picks by condition itself).
// index.ts (Node) and index.browser.ts (the "browser" condition) add their transports.
export {
  createPeer,
  type CloseOptions,
  type Data,
  type Group,
  type GroupEvent,
  type GroupEvents,
  type GroupStats,
  type Handler,
  type JoinOptions,
  type Message,
  type Peer,
  type PeerAddress,
  type PeerOptions,
  type PeerStats,
  type RepliesWanted,
  type Reply,
  type SendOptions,
  type Sent,
  type StateHandler,
  type TimingOptions,
  type TraceOption,
  type Transport,
  type TransportFactory,
  type TransportStats,
  type ViewChange,
} from '@synod/peer';
export { SynodError, type MemberId, type Order, type SynodErrorCode, type TraceRecord, type View } from '@synod/core';
export { createHub, memory, type Hub, type HubOptions, type HubStats, type MemoryInit } from '@synod/transport-memory';
export {
  signalingClient,
  type SignalingClient,
  type SignalingClientOptions,
  type SignalingClientStats,
  type SignalingEvent,
  type SignalingEvents,
} from '@synod/signaling';
export { memoryStorage, openStorage, type OpenStorageOptions, type Storage } from '@synod/storage';
