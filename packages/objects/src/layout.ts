import { SynodError } from '@synod/core';
import type { PageView } from './page-view.js';
import type { PageRange, Section } from './region.js';

/**
 * Typed shared objects on a region's pages: a schema of fields (numbers, fixed-size strings,
 * fixed-length arrays) read and written like a plain object, through a section's guarded page
 * views, so every access needs the page's lock (reads a read or write lock, writes a write lock).
 *
 * False sharing: the lock is per page, so two objects on one page share it — a writer of one
 * blocks readers and writers of the other, and its release ships a diff of that page. `layout`
 * starts every entry on a page boundary and never lets a record straddle two pages; give an array
 * `perPage: 1` to put each record on a page of its own, when records are written independently.
 */
export type Scalar = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64' | 'bool';
export type FieldType = Scalar | { readonly string: number } | { readonly array: Scalar; readonly length: number };
export type Fields = { readonly [name: string]: FieldType };

/** A fixed-length array field: reads and writes go to the page, element by element. */
export interface FieldArray<T> {
  readonly length: number;
  get(index: number): T;
  set(index: number, value: T): void;
  toArray(): T[];
}

type ValueOf<T> = T extends 'bool' ? boolean : T extends Scalar ? number : T extends { string: number } ? string : T extends { array: infer S } ? FieldArray<ValueOf<S>> : never;
/** Array fields are read-only properties (a FieldArray); the rest read and write. */
export type SharedObject<F extends Fields> = { -readonly [K in keyof F as F[K] extends { array: Scalar } ? never : K]: ValueOf<F[K]> } & {
  readonly [K in keyof F as F[K] extends { array: Scalar } ? K : never]: ValueOf<F[K]>;
};

export interface Schema<F extends Fields = Fields> {
  readonly fields: F;
  /** Bytes of one record. */
  readonly size: number;
  readonly offsets: { readonly [K in keyof F]: number };
}

const SCALAR_BYTES: Record<Scalar, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, f64: 8, bool: 1 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function fieldBytes(type: FieldType): number {
  if (typeof type === 'string') {
    if (!(type in SCALAR_BYTES)) throw new SynodError('INVALID_ARGUMENT', `unknown field type ${JSON.stringify(type)}`);
    return SCALAR_BYTES[type];
  }
  if (type && typeof type === 'object' && 'string' in type) {
    if (!Number.isSafeInteger(type.string) || type.string < 1 || type.string > 0xffff) throw new SynodError('INVALID_ARGUMENT', 'a string field holds 1..65535 bytes');
    return 2 + type.string;
  }
  if (type && typeof type === 'object' && 'array' in type) {
    if (!Number.isSafeInteger(type.length) || type.length < 1) throw new SynodError('INVALID_ARGUMENT', 'an array field needs a length of at least 1');
    return fieldBytes(type.array) * type.length;
  }
  throw new SynodError('INVALID_ARGUMENT', `unknown field type ${JSON.stringify(type)}`);
}

/** Lays the fields out in the order given, each aligned to its element size (8 at most). */
export function schema<F extends Fields>(fields: F): Schema<F> {
  if (fields === null || typeof fields !== 'object' || Object.keys(fields).length === 0) throw new SynodError('INVALID_ARGUMENT', 'a schema needs at least one field');
  const offsets: Record<string, number> = {};
  let size = 0;
  for (const [name, type] of Object.entries(fields)) {
    const bytes = fieldBytes(type);
    const align = typeof type === 'string' ? SCALAR_BYTES[type] : typeof type === 'object' && 'array' in type ? SCALAR_BYTES[type.array] : 2;
    size = Math.ceil(size / align) * align;
    offsets[name] = size;
    size += bytes;
  }
  return { fields, size: Math.ceil(size / 8) * 8, offsets: offsets as Schema<F>['offsets'] };
}

function readScalar(view: PageView, at: number, type: Scalar): number | boolean {
  switch (type) {
    case 'u8': return view.getUint8(at);
    case 'i8': return view.getInt8(at);
    case 'u16': return view.getUint16(at, true);
    case 'i16': return view.getInt16(at, true);
    case 'u32': return view.getUint32(at, true);
    case 'i32': return view.getInt32(at, true);
    case 'f32': return view.getFloat32(at, true);
    case 'f64': return view.getFloat64(at, true);
    case 'bool': return view.getUint8(at) !== 0;
  }
}

function writeScalar(view: PageView, at: number, type: Scalar, value: unknown): void {
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw new SynodError('INVALID_ARGUMENT', `a bool field takes true or false, not ${String(value)}`);
    return view.setUint8(at, value ? 1 : 0);
  }
  if (typeof value !== 'number') throw new SynodError('INVALID_ARGUMENT', `a ${type} field takes a number, not ${typeof value}`);
  switch (type) {
    case 'u8': return view.setUint8(at, value);
    case 'i8': return view.setInt8(at, value);
    case 'u16': return view.setUint16(at, value, true);
    case 'i16': return view.setInt16(at, value, true);
    case 'u32': return view.setUint32(at, value, true);
    case 'i32': return view.setInt32(at, value, true);
    case 'f32': return view.setFloat32(at, value, true);
    case 'f64': return view.setFloat64(at, value, true);
  }
}

/** A typed object over the record at `offset` of page `page`, accessed through `section`. */
export function sharedObject<F extends Fields>(section: Section, shape: Schema<F>, page: number, offset = 0): SharedObject<F> {
  const view = section.page(page);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + shape.size > view.byteLength) {
    throw new SynodError('INVALID_ARGUMENT', `a ${shape.size}-byte record at offset ${offset} does not fit a ${view.byteLength}-byte page`);
  }
  const object = {};
  for (const [name, type] of Object.entries(shape.fields)) {
    const at = offset + (shape.offsets as Record<string, number>)[name]!;
    if (typeof type === 'string') {
      Object.defineProperty(object, name, { enumerable: true, get: () => readScalar(view, at, type), set: (value) => writeScalar(view, at, type, value) });
    } else if ('string' in type) {
      const max = type.string;
      Object.defineProperty(object, name, {
        enumerable: true,
        get: () => decoder.decode(view.read(at + 2, Math.min(view.getUint16(at, true), max))),
        set: (value: unknown) => {
          if (typeof value !== 'string') throw new SynodError('INVALID_ARGUMENT', `${name} takes a string`);
          const bytes = encoder.encode(value);
          if (bytes.length > max) throw new SynodError('INVALID_ARGUMENT', `${name} holds ${max} UTF-8 bytes, not ${bytes.length}`);
          view.setUint16(at, bytes.length, true);
          view.write(at + 2, bytes);
        },
      });
    } else {
      const element = SCALAR_BYTES[type.array];
      const check = (index: number) => {
        if (!Number.isSafeInteger(index) || index < 0 || index >= type.length) throw new SynodError('INVALID_ARGUMENT', `${name} has ${type.length} elements, not index ${index}`);
        return at + index * element;
      };
      const array: FieldArray<unknown> = {
        length: type.length,
        get: (index) => readScalar(view, check(index), type.array),
        set: (index, value) => writeScalar(view, check(index), type.array, value),
        toArray: () => Array.from({ length: type.length }, (_, index) => readScalar(view, at + index * element, type.array)),
      };
      Object.defineProperty(object, name, { enumerable: true, value: array });
    }
  }
  return Object.seal(object) as SharedObject<F>;
}

interface Entry {
  readonly shape: Schema;
  readonly count: number;
  readonly perPage: number;
  readonly firstPage: number;
  readonly pages: number;
}

/**
 * Places typed objects on a region's pages: every entry starts on a page boundary, records never
 * straddle pages, so objects of different entries never share a lock.
 *
 *   const board = layout(4096).record('header', Header).array('flights', Flight, 200, { perPage: 1 }).string('title', 64);
 *   const region = map(group, 'board', { pages: board.pages, pageSize: 4096 });
 *   await region.withLock(board.range('flights', 7), 'write', (s) => { board.object(s, 'flights', 7).level = 350; });
 */
export class Layout {
  private readonly entries = new Map<string, Entry>();
  private nextPage = 0;

  constructor(readonly pageSize: number) {
    if (!Number.isSafeInteger(pageSize) || pageSize < 8) throw new SynodError('INVALID_ARGUMENT', `pageSize must be an integer of at least 8, got ${String(pageSize)}`);
  }

  /** Pages the region needs. */
  get pages(): number {
    return Math.max(1, this.nextPage);
  }

  record(name: string, shape: Schema): this {
    return this.array(name, shape, 1);
  }

  /** `count` records, `perPage` to a page (default: as many as fit). */
  array(name: string, shape: Schema, count: number, options: { readonly perPage?: number } = {}): this {
    if (this.entries.has(name)) throw new SynodError('INVALID_ARGUMENT', `layout entry ${name} already exists`);
    if (shape.size > this.pageSize) throw new SynodError('INVALID_ARGUMENT', `a ${shape.size}-byte record does not fit a ${this.pageSize}-byte page`);
    if (!Number.isSafeInteger(count) || count < 1) throw new SynodError('INVALID_ARGUMENT', 'an array needs at least one record');
    const fit = Math.floor(this.pageSize / shape.size);
    const perPage = options.perPage ?? fit;
    if (!Number.isSafeInteger(perPage) || perPage < 1 || perPage > fit) throw new SynodError('INVALID_ARGUMENT', `perPage must be in 1..${fit}`);
    const pages = Math.ceil(count / perPage);
    this.entries.set(name, { shape, count, perPage, firstPage: this.nextPage, pages });
    this.nextPage += pages;
    return this;
  }

  /** A standalone string of up to `maxBytes` UTF-8 bytes: an object with one field, `value`. */
  string(name: string, maxBytes: number): this {
    return this.record(name, schema({ value: { string: maxBytes } }));
  }

  /** Where record `index` of an entry lives. */
  at(name: string, index = 0): { readonly page: number; readonly offset: number; readonly shape: Schema } {
    const entry = this.entry(name);
    if (!Number.isSafeInteger(index) || index < 0 || index >= entry.count) throw new SynodError('INVALID_ARGUMENT', `${name} has ${entry.count} records, not index ${index}`);
    return { page: entry.firstPage + Math.floor(index / entry.perPage), offset: (index % entry.perPage) * entry.shape.size, shape: entry.shape };
  }

  /** The pages to lock: of record `index`, or of the whole entry. */
  range(name: string, index?: number): PageRange {
    if (index !== undefined) return this.at(name, index).page;
    const entry = this.entry(name);
    return { first: entry.firstPage, last: entry.firstPage + entry.pages - 1 };
  }

  /** Record `index` of an entry as a typed object; pass the entry's schema to have its type. */
  object<F extends Fields = Fields>(section: Section, name: string, index = 0, expected?: Schema<F>): SharedObject<F> {
    const { page, offset, shape } = this.at(name, index);
    if (expected !== undefined && expected !== shape) throw new SynodError('INVALID_ARGUMENT', `${name} was laid out with another schema`);
    return sharedObject(section, shape as Schema<F>, page, offset);
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new SynodError('INVALID_ARGUMENT', `no layout entry ${name}`);
    return entry;
  }
}

export function layout(pageSize: number): Layout {
  return new Layout(pageSize);
}
