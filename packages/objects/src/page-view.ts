import { SynodError } from '@synod/core';
import type { SectionAccess } from './region.js';

/**
 * A guarded view of one page, shaped like a DataView (big-endian by default, as DataView is):
 * every read checks that the section still holds the page, every write that it holds it for
 * writing (SynodError NOT_LOCKED otherwise). The page's ArrayBuffer is never handed out, since a
 * raw view could not be guarded: reads of ranges return copies, and writes of ranges copy in.
 */
export class PageView {
  constructor(
    private readonly section: SectionAccess,
    readonly page: number,
  ) {}

  get byteLength(): number {
    return this.section.pageSize;
  }

  private reader(): DataView {
    const bytes = this.section.readable(this.page);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private writer(): DataView {
    const bytes = this.section.writable(this.page);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  getInt8(offset: number): number { return this.reader().getInt8(offset); }
  getUint8(offset: number): number { return this.reader().getUint8(offset); }
  getInt16(offset: number, littleEndian?: boolean): number { return this.reader().getInt16(offset, littleEndian); }
  getUint16(offset: number, littleEndian?: boolean): number { return this.reader().getUint16(offset, littleEndian); }
  getInt32(offset: number, littleEndian?: boolean): number { return this.reader().getInt32(offset, littleEndian); }
  getUint32(offset: number, littleEndian?: boolean): number { return this.reader().getUint32(offset, littleEndian); }
  getFloat32(offset: number, littleEndian?: boolean): number { return this.reader().getFloat32(offset, littleEndian); }
  getFloat64(offset: number, littleEndian?: boolean): number { return this.reader().getFloat64(offset, littleEndian); }
  getBigInt64(offset: number, littleEndian?: boolean): bigint { return this.reader().getBigInt64(offset, littleEndian); }
  getBigUint64(offset: number, littleEndian?: boolean): bigint { return this.reader().getBigUint64(offset, littleEndian); }

  setInt8(offset: number, value: number): void { this.writer().setInt8(offset, value); }
  setUint8(offset: number, value: number): void { this.writer().setUint8(offset, value); }
  setInt16(offset: number, value: number, littleEndian?: boolean): void { this.writer().setInt16(offset, value, littleEndian); }
  setUint16(offset: number, value: number, littleEndian?: boolean): void { this.writer().setUint16(offset, value, littleEndian); }
  setInt32(offset: number, value: number, littleEndian?: boolean): void { this.writer().setInt32(offset, value, littleEndian); }
  setUint32(offset: number, value: number, littleEndian?: boolean): void { this.writer().setUint32(offset, value, littleEndian); }
  setFloat32(offset: number, value: number, littleEndian?: boolean): void { this.writer().setFloat32(offset, value, littleEndian); }
  setFloat64(offset: number, value: number, littleEndian?: boolean): void { this.writer().setFloat64(offset, value, littleEndian); }
  setBigInt64(offset: number, value: bigint, littleEndian?: boolean): void { this.writer().setBigInt64(offset, value, littleEndian); }
  setBigUint64(offset: number, value: bigint, littleEndian?: boolean): void { this.writer().setBigUint64(offset, value, littleEndian); }

  /** A copy of `length` bytes from `offset` (default: the whole page). */
  read(offset = 0, length = this.byteLength - offset): Uint8Array {
    const bytes = this.section.readable(this.page);
    checkSpan(offset, length, bytes.length);
    return bytes.slice(offset, offset + length);
  }

  /** A copy of the bytes as a typed array, e.g. `view.array(Float64Array, 0, 4)` (alignment-free). */
  array<T extends ArrayBufferView>(type: { new (buffer: ArrayBuffer): T; readonly BYTES_PER_ELEMENT: number }, offset: number, length: number): T {
    const copy = this.read(offset, length * type.BYTES_PER_ELEMENT);
    return new type(copy.buffer as ArrayBuffer);
  }

  /** Copies `source` (any typed array or bytes) into the page at `offset`. */
  write(offset: number, source: ArrayBufferView): void {
    const bytes = this.section.writable(this.page);
    const from = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    checkSpan(offset, from.length, bytes.length);
    bytes.set(from, offset);
  }

  fill(value: number, offset = 0, end = this.byteLength): void {
    const bytes = this.section.writable(this.page);
    checkSpan(offset, end - offset, bytes.length);
    bytes.fill(value, offset, end);
  }
}

function checkSpan(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new SynodError('INVALID_ARGUMENT', `bytes ${offset}..${offset + length} lie outside the page (${size} bytes)`);
  }
}
