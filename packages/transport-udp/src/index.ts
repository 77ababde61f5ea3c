export { udp, type UdpInit, type UdpSignalingInit, type UdpStats, type UdpTransport } from './udp.js';
export { formatUdpAddress, parseUdpAddress, type UdpAddress } from './address.js';
