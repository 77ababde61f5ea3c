/**
 * The part of the standard WebRTC API the adapter uses, typed structurally so that the browser's
 * RTCPeerConnection, node-datachannel's polyfill and @roamhq/wrtc all fit without their typings.
 */

export interface IceCandidateLike {
  readonly candidate: string;
  readonly sdpMid?: string | null;
  readonly sdpMLineIndex?: number | null;
}

export interface DescriptionLike {
  readonly type: string;
  readonly sdp?: string;
}

export interface DataChannelLike {
  readonly label: string;
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onbufferedamountlow: ((event: unknown) => void) | null;
  send(data: Uint8Array | string): void;
  close(): void;
}

export interface PeerConnectionLike {
  readonly iceConnectionState: string;
  readonly connectionState?: string;
  readonly localDescription: DescriptionLike | null;
  onicecandidate: ((event: { readonly candidate: IceCandidateLike | null }) => void) | null;
  oniceconnectionstatechange: ((event: unknown) => void) | null;
  onconnectionstatechange: ((event: unknown) => void) | null;
  ondatachannel: ((event: { readonly channel: DataChannelLike }) => void) | null;
  createDataChannel(label: string, init?: { ordered?: boolean; negotiated?: boolean; id?: number }): DataChannelLike;
  createOffer(): Promise<DescriptionLike>;
  createAnswer(): Promise<DescriptionLike>;
  setLocalDescription(description: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(description: { type: string; sdp: string }): Promise<void>;
  addIceCandidate(candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void>;
  close(): void;
}

export type PeerConnectionConstructor = new (configuration: Record<string, unknown>) => PeerConnectionLike;

/** A WebRTC implementation: the browser's, node-datachannel's polyfill, @roamhq/wrtc, … */
export interface RtcImplementation {
  /** For stats and messages. */
  readonly name: string;
  readonly RTCPeerConnection: PeerConnectionConstructor;
  /** Merged into every RTCPeerConnection's configuration (node-datachannel: `bindAddress`). */
  readonly configuration?: Readonly<Record<string, unknown>>;
  /** A transport starts using the implementation. */
  acquire?(): void;
  /** A transport stopped using it, every connection closed (node-datachannel: the last one calls cleanup()). */
  release?(): void;
}

/** What the `rtc` option takes: an implementation, a module with an RTCPeerConnection, or the constructor. */
export type RtcOption =
  | RtcImplementation
  | { readonly RTCPeerConnection: abstract new (...args: any[]) => unknown }
  | (abstract new (...args: any[]) => unknown);

export function isRtcImplementation(value: unknown): value is RtcImplementation {
  return typeof value === 'object' && value !== null && typeof (value as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function';
}

/** An RtcOption as an implementation (a bare constructor or a module such as @roamhq/wrtc's). */
export function toImplementation(option: RtcOption, name = 'custom'): RtcImplementation {
  if (typeof option === 'function') return { name, RTCPeerConnection: option as unknown as PeerConnectionConstructor };
  if (isRtcImplementation(option)) return typeof option.name === 'string' ? option : { ...option, name };
  throw new TypeError('rtc must be an RTCPeerConnection constructor or an object with one');
}
