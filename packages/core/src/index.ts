export type {
  MemberId,
  Order,
  View,
  Send,
  Upcall,
  Output,
  MemberConfig,
  MemberStats,
} from './api.js';
export { SynodError, InvariantViolation, type SynodErrorCode } from './errors.js';
export { Member } from './member.js';
export { traceRecord, type TraceRecord } from './trace.js';
export { messageId } from './upcalls.js';
export { declineDiscover, peekGroup } from './wire.js';
export { allocBytes, copyBytes, decodeUtf8 } from './codec.js';
export {
  allocFrameBytes,
  copyFrameBytes,
  framePoolStats,
  releaseFrameBytes,
  retainFrameBytes,
  setFramePoolChecks,
  type FramePoolStats,
} from './frames.js';
export {
  emptyTransportStats,
  type PeerAddress,
  type Transport,
  type TransportFactory,
  type TransportStats,
} from './transport.js';
