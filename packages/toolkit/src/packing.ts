/**
 * A tool message that carries both a JSON header and binary blobs (states, recorded messages):
 * u32 header length, the header as UTF-8 JSON, then per blob u32 length and bytes. Decoding treats
 * the input as hostile: it returns undefined for anything malformed, never throws.
 */
import { SynodError } from '@synod/core';

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export interface Packed {
  readonly header: unknown;
  readonly blobs: Uint8Array[];
}

export function pack(header: unknown, blobs: readonly Uint8Array[] = []): Uint8Array {
  const json = encoder.encode(JSON.stringify(header));
  let size = 4 + json.length;
  for (const blob of blobs) size += 4 + blob.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length);
  out.set(json, 4);
  let at = 4 + json.length;
  for (const blob of blobs) {
    view.setUint32(at, blob.length);
    out.set(blob, at + 4);
    at += 4 + blob.length;
  }
  return out;
}

export function unpack(bytes: unknown): Packed | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0);
  if (4 + headerLength > bytes.length) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(strictDecoder.decode(bytes.subarray(4, 4 + headerLength)));
  } catch {
    return undefined;
  }
  const blobs: Uint8Array[] = [];
  let at = 4 + headerLength;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) return undefined;
    const length = view.getUint32(at);
    if (at + 4 + length > bytes.length) return undefined;
    blobs.push(bytes.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return { header, blobs };
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** A tool instance's name goes into its message kinds and state part: short and non-empty. */
export function validateInstanceName(tool: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 64) {
    throw new SynodError('INVALID_ARGUMENT', `${tool}: the instance name must be a string of 1..64 characters`);
  }
  return name;
}
