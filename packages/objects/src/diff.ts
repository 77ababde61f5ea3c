/**
 * Twin/diff (TreadMarks): before the first write of a section to a page, the page is copied (its
 * twin); on release, the runs of bytes that differ from the twin are the page's diff. A diff names
 * the page version it makes (the page's previous version + 1), so that every member applies the
 * diffs of one page in one order, once each, whatever order the network brings them in.
 *
 * Wire format of one section's diffs (every decoder treats input as hostile):
 *   u8 format (1) · u32 request · u16 page count · per page: u32 page · u32 version · u16 run count ·
 *   per run: u32 offset · u32 length · bytes
 */

export interface Run {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface PageDiff {
  readonly page: number;
  /** The version this diff makes: applied only onto version - 1. */
  readonly version: number;
  readonly runs: readonly Run[];
}

export interface SectionDiffs {
  /** The writer's lock request the diffs were made under (with the sender, the section's id). */
  readonly request: number;
  readonly pages: readonly PageDiff[];
}

const FORMAT = 1;
/** Runs closer than this are merged: a run header costs 8 bytes. */
const MERGE_GAP_BYTES = 8;

/** The runs of `current` that differ from `twin` (same length), nearby runs merged. */
export function diffPage(twin: Uint8Array, current: Uint8Array): Run[] {
  const runs: Run[] = [];
  const length = current.length;
  let at = 0;
  // Word-wise scan where both views are aligned: pages are, and most of a page is unchanged.
  const words = twin.byteOffset % 4 === 0 && current.byteOffset % 4 === 0 ? length >>> 2 : 0;
  const twinWords = words > 0 ? new Uint32Array(twin.buffer, twin.byteOffset, words) : undefined;
  const currentWords = words > 0 ? new Uint32Array(current.buffer, current.byteOffset, words) : undefined;
  let start = -1;
  let end = -1; // one past the last differing byte of the open run
  while (at < length) {
    if (twinWords && currentWords && (at & 3) === 0 && at >>> 2 < words && twinWords[at >>> 2] === currentWords[at >>> 2]) {
      at += 4;
      continue;
    }
    if (twin[at] !== current[at]) {
      if (start >= 0 && at - end > MERGE_GAP_BYTES) {
        runs.push({ offset: start, bytes: current.slice(start, end) });
        start = -1;
      }
      if (start < 0) start = at;
      end = at + 1;
    }
    at++;
  }
  if (start >= 0) runs.push({ offset: start, bytes: current.slice(start, end) });
  return runs;
}

export function applyRuns(page: Uint8Array, runs: readonly Run[]): void {
  for (const run of runs) page.set(run.bytes, run.offset);
}

export function encodeDiffs(diffs: SectionDiffs): Uint8Array {
  let size = 1 + 4 + 2;
  for (const page of diffs.pages) {
    size += 4 + 4 + 2;
    for (const run of page.runs) size += 8 + run.bytes.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint8(0, FORMAT);
  view.setUint32(1, diffs.request);
  view.setUint16(5, diffs.pages.length);
  let at = 7;
  for (const page of diffs.pages) {
    view.setUint32(at, page.page);
    view.setUint32(at + 4, page.version);
    view.setUint16(at + 8, page.runs.length);
    at += 10;
    for (const run of page.runs) {
      view.setUint32(at, run.offset);
      view.setUint32(at + 4, run.bytes.length);
      out.set(run.bytes, at + 8);
      at += 8 + run.bytes.length;
    }
  }
  return out;
}

/** Undefined when malformed or out of the region's bounds. */
export function decodeDiffs(bytes: Uint8Array, pageCount: number, pageSize: number): SectionDiffs | undefined {
  if (bytes.length < 7) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== FORMAT) return undefined;
  const request = view.getUint32(1);
  const count = view.getUint16(5);
  if (request < 1 || count > pageCount) return undefined;
  const pages: PageDiff[] = [];
  const seen = new Set<number>();
  let at = 7;
  for (let i = 0; i < count; i++) {
    if (at + 10 > bytes.length) return undefined;
    const page = view.getUint32(at);
    const version = view.getUint32(at + 4);
    const runCount = view.getUint16(at + 8);
    at += 10;
    if (page >= pageCount || seen.has(page) || version < 1) return undefined;
    seen.add(page);
    const runs: Run[] = [];
    for (let r = 0; r < runCount; r++) {
      if (at + 8 > bytes.length) return undefined;
      const offset = view.getUint32(at);
      const length = view.getUint32(at + 4);
      at += 8;
      if (length === 0 || offset + length > pageSize || at + length > bytes.length) return undefined;
      runs.push({ offset, bytes: bytes.slice(at, at + length) });
      at += length;
    }
    pages.push({ page, version, runs });
  }
  return at === bytes.length ? { request, pages } : undefined;
}
