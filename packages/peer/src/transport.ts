// The transport contract lives in @synod/core (transports depend only on the core's types).
export {
  emptyTransportStats,
  type PeerAddress,
  type Transport,
  type TransportFactory,
  type TransportStats,
} from '@synod/core';
