/**
 * Application payloads of the simulated workload. A payload names its own identity (origin member,
 * per-origin sequence number, order, length), a checksum of that header, and filler bytes that are
 * a function of the identity, so a receiver can tell a corrupted, truncated, spliced or
 * misattributed message in one pass over the bytes.
 */
import type { MemberId, Order } from '@synod/core';
import { hash32, mix32 } from './prng.js';

const MAGIC = 0x53594e53; // 'SYNS'
const ORDERS: readonly Order[] = ['fifo', 'causal', 'total', 'safe'];
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface PayloadIdentity {
  readonly origin: MemberId;
  readonly appSeq: number;
  readonly order: Order;
  readonly sizeBytes: number;
}

/** magic(4) order(1) originLength(1) origin(n) appSeq(4) sizeBytes(4) headerChecksum(4) filler(…). */
export function payloadOverheadBytes(origin: MemberId): number {
  return 4 + 1 + 1 + encoder.encode(origin).length + 4 + 4 + 4;
}

export function encodePayload(identity: PayloadIdentity): Uint8Array {
  const originBytes = encoder.encode(identity.origin);
  const headerBytes = 4 + 1 + 1 + originBytes.length + 4 + 4;
  const sizeBytes = Math.max(identity.sizeBytes, headerBytes + 4);
  const bytes = new Uint8Array(sizeBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC);
  view.setUint8(4, ORDERS.indexOf(identity.order));
  view.setUint8(5, originBytes.length);
  bytes.set(originBytes, 6);
  view.setUint32(6 + originBytes.length, identity.appSeq);
  view.setUint32(10 + originBytes.length, sizeBytes);
  view.setUint32(headerBytes, checksum(bytes, headerBytes));
  fillFrom(bytes, headerBytes + 4, sizeBytes, fillerSeed(identity.origin, identity.appSeq));
  return bytes;
}

export type DecodedPayload =
  | ({ readonly ok: true } & PayloadIdentity)
  | { readonly ok: false; readonly error: string };

export function decodePayload(bytes: Uint8Array): DecodedPayload {
  const fail = (error: string): DecodedPayload => ({ ok: false, error });
  if (bytes.length < 18) return fail(`too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== MAGIC) return fail('bad magic');
  const order = ORDERS[view.getUint8(4)];
  if (order === undefined) return fail('bad order byte');
  const originLength = view.getUint8(5);
  const headerBytes = 6 + originLength + 8;
  if (bytes.length < headerBytes + 4) return fail('truncated header');
  let origin: string;
  try {
    origin = decoder.decode(bytes.subarray(6, 6 + originLength));
  } catch {
    return fail('origin is not UTF-8');
  }
  const appSeq = view.getUint32(6 + originLength);
  const sizeBytes = view.getUint32(10 + originLength);
  if (view.getUint32(headerBytes) !== checksum(bytes, headerBytes)) return fail('bad header checksum');
  if (sizeBytes !== bytes.length) return fail(`length ${bytes.length} but header says ${sizeBytes}`);
  const differsAt = fillerMismatch(bytes, headerBytes + 4, sizeBytes, fillerSeed(origin, appSeq));
  if (differsAt >= 0) return fail(`filler differs at byte ${differsAt}`);
  return { ok: true, origin, appSeq, order, sizeBytes };
}

function fillerSeed(origin: MemberId, appSeq: number): number {
  return mix32(hash32(origin) ^ Math.imul(appSeq + 1, 0x9e3779b1));
}

/** xorshift32 filler, four bytes per step: cheap, and different for every seed. */
export function fillFrom(bytes: Uint8Array, start: number, end: number, seed: number): void {
  let x = seed | 1;
  for (let i = start; i < end; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x;
    if (i + 1 < end) bytes[i + 1] = x >>> 8;
    if (i + 2 < end) bytes[i + 2] = x >>> 16;
    if (i + 3 < end) bytes[i + 3] = x >>> 24;
  }
}

/** The first index in [start, end) where `bytes` differs from fillFrom's output, or -1. */
export function fillerMismatch(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let x = seed | 1;
  for (let i = start; i < end; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    if (bytes[i] !== (x & 0xff)) return i;
    if (i + 1 < end && bytes[i + 1] !== ((x >>> 8) & 0xff)) return i + 1;
    if (i + 2 < end && bytes[i + 2] !== ((x >>> 16) & 0xff)) return i + 2;
    if (i + 3 < end && bytes[i + 3] !== x >>> 24) return i + 3;
  }
  return -1;
}

/** FNV-1a over bytes[0, end). */
export function checksum(bytes: Uint8Array, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < end; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
