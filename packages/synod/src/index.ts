// Node: WebRTC over node-datachannel by default (or @roamhq/wrtc, or any RTCPeerConnection), and UDP.
export * from './common.js';
export {
  nodeDatachannel,
  webrtc,
  wrtc,
  type IceServer,
  type NodeDatachannelOptions,
  type RtcImplementation,
  type RtcOption,
  type SimplePeerSignal,
  type WebRtcInit,
  type WebRtcNodeInit,
  type WebRtcStats,
  type WebRtcTransport,
} from '@synod/transport-webrtc';
export { udp, type UdpInit, type UdpSignalingInit, type UdpStats, type UdpTransport } from '@synod/transport-udp';
