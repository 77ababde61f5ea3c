// Browsers (the "browser" export condition): WebRTC over the native RTCPeerConnection; no UDP, and
// nothing here or below imports a Node module (test/package.test.ts checks the bundle).
export * from './common.js';
export {
  webrtc,
  type IceServer,
  type RtcImplementation,
  type RtcOption,
  type SimplePeerSignal,
  type WebRtcInit,
  type WebRtcStats,
  type WebRtcTransport,
} from '@synod/transport-webrtc';
