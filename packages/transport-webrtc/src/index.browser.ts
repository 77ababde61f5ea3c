// Browser variant (the "browser" export condition): the native RTCPeerConnection, no Node module.
import { SynodError } from '@synod/core';
import { createMesh, type WebRtcInit, type WebRtcTransport } from './mesh.js';
import { toImplementation, type RtcImplementation } from './rtc.js';

async function resolveBrowserRtc(option: WebRtcInit['rtc']): Promise<RtcImplementation> {
  const chosen = await option;
  if (chosen === undefined) {
    const native = (globalThis as { RTCPeerConnection?: RtcImplementation['RTCPeerConnection'] }).RTCPeerConnection;
    if (typeof native !== 'function') throw new TypeError('this browser has no RTCPeerConnection');
    return { name: 'native', RTCPeerConnection: native };
  }
  if (typeof chosen === 'string') throw new TypeError(`a browser uses its own RTCPeerConnection, not ${chosen}`);
  return toImplementation(chosen);
}

/** A WebRTC mesh transport: `webrtc({ signaling: 'wss://signal.example.org' })`. */
export function webrtc(init: WebRtcInit): WebRtcTransport {
  if (typeof init !== 'object' || init === null) throw new SynodError('INVALID_ARGUMENT', 'webrtc() takes an options object');
  return createMesh(init, resolveBrowserRtc);
}

export type { IceServer, WebRtcInit, WebRtcStats, WebRtcTransport } from './mesh.js';
export type { RtcImplementation, RtcOption } from './rtc.js';
export type { SimplePeerSignal } from './signal.js';
