// Node variant; browsers get index.browser.ts through the package's "browser" export condition.
import { SynodError } from '@synod/core';
import { createMesh, type WebRtcInit, type WebRtcTransport } from './mesh.js';
import { resolveNodeRtc } from './rtc-node.js';

export interface WebRtcNodeInit extends WebRtcInit {
  /** node-datachannel only: the local address ICE binds to (see nodeDatachannel()). */
  readonly bindAddress?: string;
}

/** A WebRTC mesh transport: `webrtc({ signaling: 'ws://127.0.0.1:8787' })`. */
export function webrtc(init: WebRtcNodeInit): WebRtcTransport {
  if (typeof init !== 'object' || init === null) throw new SynodError('INVALID_ARGUMENT', 'webrtc() takes an options object');
  return createMesh(init, (option) => resolveNodeRtc(option, init.bindAddress));
}

export type { IceServer, WebRtcInit, WebRtcStats, WebRtcTransport } from './mesh.js';
export type { RtcImplementation, RtcOption } from './rtc.js';
export type { SimplePeerSignal } from './signal.js';
export { nodeDatachannel, wrtc, type NodeDatachannelOptions } from './rtc-node.js';
