/**
 * Shared objects: a region of pages that every member of a group holds alike, read and written
 * under page locks, with release or causal consistency (twin/diff, TreadMarks-style), and typed
 * objects laid out on its pages.
 */
export { map } from './region.js';
export type { ApplyEvent, Consistency, LockMode, LockOptions, MapOptions, PageRange, Region, RegionStats, RegionStorage, Section } from './region.js';
export { PageView } from './page-view.js';
export { Layout, layout, schema, sharedObject } from './layout.js';
export type { FieldArray, FieldType, Fields, Scalar, Schema, SharedObject } from './layout.js';
