/**
 * simple-peer's signal format, so that a simple-peer app and this adapter can exchange offers,
 * answers and trickled candidates over the same channel:
 *
 *   { type: 'offer' | 'answer', sdp }
 *   { type: 'candidate', candidate: { candidate, sdpMLineIndex, sdpMid } }
 *   { type: 'renegotiate', renegotiate: true }                 (parsed, not acted on: data only)
 *   { type: 'transceiverRequest', transceiverRequest: {...} }   (parsed, not acted on: data only)
 *
 * On the signaling server each one travels inside `{ v: 1, link, signal }`: `link` names one
 * connection attempt, so that a late candidate of an abandoned attempt cannot reach its successor.
 * Everything that arrives is hostile: the parsers return undefined rather than throw.
 */

export type SimplePeerSignal =
  | { readonly type: 'offer' | 'answer'; readonly sdp: string }
  | {
      readonly type: 'candidate';
      readonly candidate: { readonly candidate: string; readonly sdpMLineIndex: number | null; readonly sdpMid: string | null };
    }
  | { readonly type: 'renegotiate'; readonly renegotiate: true }
  | { readonly type: 'transceiverRequest'; readonly transceiverRequest: { readonly kind: string } };

export interface SignalEnvelope {
  readonly v: 1;
  /** One connection attempt between two peers, chosen by the offerer. */
  readonly link: string;
  readonly signal: SimplePeerSignal;
}

/** Longest SDP accepted (a data-only offer is about 500 bytes; the signaling server caps messages at 16 KiB). */
export const MAX_SDP_CHARS = 12 * 1024;
const MAX_CANDIDATE_CHARS = 1024;
const MAX_MID_CHARS = 32;
const LINK_ID = /^[0-9a-z]{8,32}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A simple-peer signal object, or undefined. */
export function parseSignal(value: unknown): SimplePeerSignal | undefined {
  if (!isObject(value)) return undefined;
  switch (value['type']) {
    case 'offer':
    case 'answer': {
      const sdp = value['sdp'];
      if (typeof sdp !== 'string' || sdp.length === 0 || sdp.length > MAX_SDP_CHARS || !sdp.startsWith('v=0')) return undefined;
      return { type: value['type'], sdp };
    }
    case 'candidate': {
      const body = value['candidate'];
      if (!isObject(body)) return undefined;
      const candidate = body['candidate'];
      const mid = body['sdpMid'] ?? null;
      const index = body['sdpMLineIndex'] ?? null;
      if (typeof candidate !== 'string' || candidate.length > MAX_CANDIDATE_CHARS) return undefined;
      if (mid !== null && (typeof mid !== 'string' || mid.length > MAX_MID_CHARS)) return undefined;
      if (index !== null && !(Number.isInteger(index) && (index as number) >= 0 && (index as number) < 64)) return undefined;
      return { type: 'candidate', candidate: { candidate, sdpMid: mid as string | null, sdpMLineIndex: index as number | null } };
    }
    case 'renegotiate':
      return value['renegotiate'] === true ? { type: 'renegotiate', renegotiate: true } : undefined;
    case 'transceiverRequest': {
      const request = value['transceiverRequest'];
      return isObject(request) && typeof request['kind'] === 'string'
        ? { type: 'transceiverRequest', transceiverRequest: { kind: request['kind'] } }
        : undefined;
    }
    default:
      return undefined;
  }
}

export function parseEnvelope(value: unknown): SignalEnvelope | undefined {
  if (!isObject(value) || value['v'] !== 1 || typeof value['link'] !== 'string' || !LINK_ID.test(value['link'])) return undefined;
  const signal = parseSignal(value['signal']);
  return signal ? { v: 1, link: value['link'], signal } : undefined;
}

/**
 * A candidate line as browsers write it: libdatachannel prefixes `a=`, which Chromium's parser
 * refuses. Undefined for the end-of-candidates marker (an empty line).
 */
export function candidateLine(line: string): string | undefined {
  const trimmed = line.startsWith('a=') ? line.slice(2) : line;
  return trimmed.length === 0 ? undefined : trimmed;
}
