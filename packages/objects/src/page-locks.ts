import type { MemberId } from '@synod/core';

export type PageLockMode = 'read' | 'write';

/** One lock request on a range of pages, as every member applied it. */
export interface PageRequest {
  readonly member: MemberId;
  readonly request: number;
  readonly first: number;
  readonly last: number;
  readonly mode: PageLockMode;
  /** 0 while queued. */
  fencingToken: number;
}

export interface Granted {
  readonly member: MemberId;
  readonly request: number;
  readonly fencingToken: number;
}

/**
 * The replicated page-lock table of one region: a pure state machine that every member drives
 * with the same inputs in the same (safe, total) order, so every member knows every holder.
 *
 * A request covers a range of pages and is queued on all of them at once, at its place in the
 * total order. It is granted when, on every page of its range, it conflicts with no holder and
 * with no request queued before it (a waiting writer blocks later readers: FIFO). A request waits
 * only for requests ordered before it, so the waits-for relation follows the total order and has
 * no cycle: ranges cannot deadlock. (Taking a range as a series of single-page locks would need
 * page order to be safe; one request per range needs no order at all.)
 *
 * `agreed[page]` is the page version the latest release named: a grant is usable at a member once
 * it has applied that version of every page of the range (the diffs travel separately).
 */
export class PageLockTable {
  /** Queued and granted requests, in the order they were applied. */
  private requests: PageRequest[] = [];
  agreed: number[];
  lastFencingToken = 0;

  constructor(readonly pageCount: number) {
    this.agreed = new Array<number>(pageCount).fill(0);
  }

  /** False when the request is already known (a duplicate is ignored). */
  acquire(member: MemberId, request: number, first: number, last: number, mode: PageLockMode): Granted[] | undefined {
    if (this.find(member, request)) return undefined;
    this.requests.push({ member, request, first, last, mode, fencingToken: 0 });
    return this.grant();
  }

  /** Removes the request (held or queued) and records the versions its diffs made. */
  release(member: MemberId, request: number, versions: readonly (readonly [number, number])[]): Granted[] | undefined {
    const entry = this.find(member, request);
    if (!entry) return undefined;
    for (const [page, version] of versions) {
      if (page >= entry.first && page <= entry.last && entry.fencingToken > 0 && entry.mode === 'write') {
        this.agreed[page] = Math.max(this.agreed[page] ?? 0, version);
      }
    }
    this.requests = this.requests.filter((other) => other !== entry);
    return this.grant();
  }

  /** Drops every request of a member not in `present` (it left or crashed: its unreleased writes are void). */
  retain(present: ReadonlySet<MemberId>): { granted: Granted[]; removed: PageRequest[] } {
    const removed = this.requests.filter((entry) => !present.has(entry.member));
    this.requests = this.requests.filter((entry) => present.has(entry.member));
    return { granted: this.grant(), removed };
  }

  find(member: MemberId, request: number): PageRequest | undefined {
    return this.requests.find((entry) => entry.member === member && entry.request === request);
  }

  holders(page: number): readonly PageRequest[] {
    return this.requests.filter((entry) => entry.fencingToken > 0 && entry.first <= page && page <= entry.last);
  }

  waiting(page: number): readonly PageRequest[] {
    return this.requests.filter((entry) => entry.fencingToken === 0 && entry.first <= page && page <= entry.last);
  }

  private grant(): Granted[] {
    const granted: Granted[] = [];
    const conflicts = (a: PageRequest, b: PageRequest) =>
      a.first <= b.last && b.first <= a.last && (a.mode === 'write' || b.mode === 'write');
    for (let i = 0; i < this.requests.length; i++) {
      const entry = this.requests[i]!;
      if (entry.fencingToken > 0) continue;
      let blocked = false;
      for (let j = 0; j < this.requests.length && !blocked; j++) {
        const other = this.requests[j]!;
        if (other === entry) continue;
        // Holders block; queued requests block only those behind them.
        if ((other.fencingToken > 0 || j < i) && conflicts(entry, other)) blocked = true;
      }
      if (blocked) continue;
      entry.fencingToken = ++this.lastFencingToken;
      granted.push({ member: entry.member, request: entry.request, fencingToken: entry.fencingToken });
    }
    return granted;
  }

  snapshot(): unknown {
    return { agreed: this.agreed, lastFencingToken: this.lastFencingToken, requests: this.requests };
  }

  /** False when `value` is not a snapshot of a table of this size. */
  restore(value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const { agreed, lastFencingToken, requests } = value as Record<string, unknown>;
    if (!Array.isArray(agreed) || agreed.length !== this.pageCount || !agreed.every(isCount)) return false;
    if (!isCount(lastFencingToken) || !Array.isArray(requests)) return false;
    const parsed: PageRequest[] = [];
    for (const item of requests) {
      if (typeof item !== 'object' || item === null) return false;
      const { member, request, first, last, mode, fencingToken } = item as Record<string, unknown>;
      if (typeof member !== 'string' || !isCount(request) || !isCount(first) || !isCount(last) || !isCount(fencingToken)) return false;
      if ((mode !== 'read' && mode !== 'write') || first > last || last >= this.pageCount) return false;
      parsed.push({ member, request, first, last, mode, fencingToken });
    }
    this.agreed = agreed as number[];
    this.lastFencingToken = lastFencingToken;
    this.requests = parsed;
    return true;
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
