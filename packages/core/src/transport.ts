/**
 * The contract every transport implements (memory hub, WebRTC mesh, UDP).
 *
 * It lives in the core because transports depend only on the core's types (DESIGN.md).
 *
 * A transport is a best-effort datagram service between peers named by address. It promises no
 * delivery (the protocol core retransmits) and no ordering unless `orderedLinks` says so. It never
 * throws on the network's account: a send to an unknown, unreachable or dead peer is dropped and
 * counted. Transports are made by factories in the libp2p style: `memory(init) => Transport`.
 */

/** A peer's transport address. It names one process lifetime: a restarted process uses a new one. */
export type PeerAddress = string;

export interface TransportStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Frames larger than mtuBytes, dropped on send or on receipt. */
  droppedOversized: number;
  /** Frames sent to an unknown, unreachable or closed peer, or sent while this transport is not open. */
  droppedUnreachable: number;
}

export interface Transport {
  /** This peer's address. Valid after start() resolves (some transports learn it on start). */
  readonly localId: PeerAddress;
  /** Largest datagram send() carries. Larger frames are dropped and counted, never thrown. */
  readonly mtuBytes: number;
  /** True when datagrams on one link arrive in the order they were sent (a hint; the core never relies on it). */
  readonly orderedLinks: boolean;
  readonly stats: TransportStats;
  start(): Promise<void>;
  /**
   * Best effort. Does not take ownership of `bytes`: the caller may reuse the buffer once send()
   * returns. Never throws on a dead or unknown peer, an oversized frame or a closed transport.
   * Never calls a handler re-entrantly: delivery is always asynchronous.
   */
  send(to: PeerAddress, bytes: Uint8Array): void;
  /** The handler owns the bytes it is given. Returns an unsubscribe function. */
  onMessage(handler: (from: PeerAddress, bytes: Uint8Array) => void): () => void;
  /** A link to `peer` is gone (the peer closed, crashed, or the connection broke). A hint, not a verdict. */
  onLinkDown(handler: (peer: PeerAddress) => void): () => void;
  /** Addresses currently reachable, this peer excluded; used as join contacts. */
  peers(): PeerAddress[];
  /** Idempotent. Peers that had a link to this one see linkDown. */
  close(): Promise<void>;
  /**
   * Optional backpressure: true while frames wait inside the transport because a link cannot take
   * more now. The runtime then holds new data (the protocol's own frames still go) until onDrain.
   * A transport that has it must also have onDrain, and call it when it stops being congested
   * (its queues drained, or the links holding them closed).
   */
  congested?(): boolean;
  onDrain?(handler: () => void): () => void;
  /**
   * Optional hints from a transport with backpressure: the credit window (`flowWindowBytes`) that
   * its buffers suit, and the new data to hand it between two looks at congested().
   */
  readonly flowWindowBytes?: number;
  readonly burstBytes?: number;
}

export type TransportFactory<Init> = (init: Init) => Transport;

/** Fresh counters for a transport implementation. */
export function emptyTransportStats(): TransportStats {
  return {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    droppedOversized: 0,
    droppedUnreachable: 0,
  };
}
