import { SynodError, type MemberId } from '@synod/core';
import type { Group, Message } from '@synod/peer';
import type { Storage } from '@synod/storage';
import { applyRuns, decodeDiffs, diffPage, encodeDiffs, type PageDiff, type Run } from './diff.js';
import { PageLockTable, type PageLockMode } from './page-locks.js';
import { PageView } from './page-view.js';

export type Consistency = 'release' | 'causal';
export type LockMode = PageLockMode;
/** One page, or the pages first..last (inclusive). */
export type PageRange = number | { readonly first: number; readonly last: number };

/** The part of `@synod/storage`'s Storage a region needs. */
export type RegionStorage = Pick<Storage, 'get' | 'putMany'>;

export interface MapOptions {
  readonly pages: number;
  readonly pageSize: number;
  /**
   * 'release' (default): a section's diffs go by fbcast when its write lock is released; the next
   * holder of a page sees every write made to it before the release. 'causal': by cbcast; on top
   * of that, if write a happened before write b (b's writer had applied a when it wrote), every
   * member applies a before b, whatever pages they are on.
   */
  readonly consistency?: Consistency;
  /**
   * Keeps the region's committed pages (written behind, coalesced, all pages of one write as one
   * putMany) under `synod.objects/<group>/<name>/`, reloaded when a member founds the group: what
   * a reloaded page or a restarted process starts from. A joiner of a live group takes the
   * group's region by state transfer, which replaces the stored copy.
   */
  readonly storage?: RegionStorage;
  /** Observes every page version applied here, in application order (traces, checkers). */
  readonly onApply?: (event: ApplyEvent) => void;
}

export interface ApplyEvent {
  readonly page: number;
  readonly version: number;
  /** The section that wrote it: its writer and lock request. */
  readonly writer: MemberId;
  readonly request: number;
  /** 'local': this member's own release; 'diff': a delivered diff. */
  readonly from: 'local' | 'diff';
}

export interface RegionStats {
  /** Region messages or diffs that were malformed or out of bounds (dropped, never thrown). */
  droppedMalformed: number;
  /** Well-formed messages that no longer applied (a diff already applied, a release of nothing). */
  ignoredStale: number;
  /** Sections whose diffs this member sent, and their bytes on the wire. */
  diffsSent: number;
  diffBytesSent: number;
  /** Page diffs of other members applied here; those that waited for an earlier version. */
  diffsApplied: number;
  diffsBuffered: number;
  /** Buffered diffs and named versions given up at a view change: their writers died before the rest reached anyone. */
  versionsAbandoned: number;
  /** Sections whose writes were undone because the lock was lost before release. */
  sectionsRolledBack: number;
  persisted: number;
  persistFailures: number;
}

export interface LockOptions {
  /** Give up (SynodError TIMEOUT) and withdraw the request if not usable within this long. */
  readonly timeoutMs?: number;
}

/** A held lock on a range of pages: the only way to read or write them with a guarantee. */
export interface Section {
  readonly first: number;
  readonly last: number;
  readonly mode: LockMode;
  /** Greater than every earlier grant's of this region: hand it to external resources you guard. */
  readonly fencingToken: number;
  /**
   * A guarded view of one page of the range: every read needs the section, every write a write
   * section, both still held; otherwise they throw SynodError NOT_LOCKED.
   */
  page(index: number): PageView;
  /** Not released, not lost (minority, exclusion, the group left). */
  valid(): boolean;
  /** Called once if the lock is lost without release() (minority, exclusion, the group left); its writes are undone here and sent nowhere. */
  onLost(listener: () => void): () => void;
  /**
   * Sends the diffs of the pages written (fbcast or cbcast), then the release (safe); resolves
   * once both are sent. Idempotent.
   */
  release(): Promise<void>;
}

export interface Region {
  readonly name: string;
  readonly pages: number;
  readonly pageSize: number;
  readonly consistency: Consistency;
  /**
   * Waits in the FIFO queue of every page of the range; resolves once granted and every earlier
   * release of those pages is applied here. Once the group is left (leave(), the peer closed),
   * waits and later calls reject with SynodError NOT_JOINED.
   */
  lock(range: PageRange, mode?: LockMode, options?: LockOptions): Promise<Section>;
  /** lock, run fn, release (even if fn throws). */
  withLock<T>(range: PageRange, mode: LockMode, fn: (section: Section) => T | Promise<T>, options?: LockOptions): Promise<T>;
  /** A copy of the page as last committed here, without a lock: may be stale, never torn by a section in progress here. */
  read(page: number): Uint8Array;
  /** The page's version applied here (one per released write section that changed it). */
  version(page: number): number;
  /** The replicated holders of a page, as every member knows them. */
  holders(page: number): readonly { readonly member: MemberId; readonly mode: LockMode; readonly fencingToken: number }[];
  /** Resolves once a stored copy this region waits for is loaded. */
  readonly ready: Promise<void>;
  readonly stats: RegionStats;
}

/** @internal What a PageView asks of its section. */
export interface SectionAccess {
  readonly pageSize: number;
  /** The page's bytes, checked for reading. */
  readable(page: number): Uint8Array;
  /** The page's bytes, checked for writing (twinned before the first write). */
  writable(page: number): Uint8Array;
}

const MAX_NAME_LENGTH = 100;
const MAX_REGION_BYTES = 256 * 1024 * 1024;
const STATE_FORMAT = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

interface Pending {
  readonly first: number;
  readonly last: number;
  readonly mode: LockMode;
  readonly resolve: (section: Section) => void;
  readonly reject: (error: unknown) => void;
  cancelTimeout: (() => void) | undefined;
}

interface Buffered {
  readonly writer: MemberId;
  readonly request: number;
  readonly diff: PageDiff;
}

/**
 * Maps a region of shared pages in a group: every member holds the same pages, read and written
 * under page locks. Make it in JoinOptions.setup (`setup: (g) => { region = map(g, 'board', …) }`)
 * so that its handlers and its part of the state transfer exist before the first upcall.
 *
 * Locks (page-locks.ts): requests and releases in safe (uniform total) order, so a member cut off
 * in a minority never applies one the survivors do not. A release names the page versions its
 * diffs made; the diffs travel separately (fbcast or cbcast) on the same sender's FIFO stream, sent
 * before the release, so any member that delivers the release has received the diffs (and a view
 * change delivers both or neither). A grant is usable once the named versions are applied here.
 *
 * Crashes: a holder that crashes (or is cut off) before release sends nothing, so its writes vanish
 * everywhere (undone in its own pages if it lives on); once it has sent its diffs they are
 * delivered by every survivor or by none (virtual synchrony), and the view change that frees its
 * locks comes after them.
 */
export function map(group: Group, name: string, options: MapOptions): Region {
  return new RegionImpl(group, name, options);
}

class RegionImpl implements Region {
  readonly pages: number;
  readonly pageSize: number;
  readonly consistency: Consistency;
  readonly stats: RegionStats = {
    droppedMalformed: 0,
    ignoredStale: 0,
    diffsSent: 0,
    diffBytesSent: 0,
    diffsApplied: 0,
    diffsBuffered: 0,
    versionsAbandoned: 0,
    sectionsRolledBack: 0,
    persisted: 0,
    persistFailures: 0,
  };
  private memory: Uint8Array;
  private applied: number[];
  private table: PageLockTable;
  /** Diffs that arrived before the version they build on (fbcast: two writers' diffs may cross). */
  private readonly buffered = new Map<number, Map<number, Buffered>>();
  private readonly pending = new Map<number, Pending>();
  private readonly sections = new Map<number, SectionImpl>();
  private nextRequest = 1;
  private sawView = false;
  /** False from a joiner's first view until its state arrives: nothing applies to a stale table. */
  private stateLoaded = false;
  private inMinority = false;
  private transferred = false;
  private gate: Promise<void> | undefined;
  private readonly kind: (op: string) => string;
  private readonly storageKey: string;
  private readonly dirtyPages = new Set<number>();
  private persisting = false;
  /** Set once the group is left for good: every wait ended with it, and later locks reject with it. */
  private ended: SynodError | undefined;

  constructor(
    private readonly group: Group,
    readonly name: string,
    private readonly options: MapOptions,
  ) {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH || name.includes('/')) {
      throw new SynodError('INVALID_ARGUMENT', `a region needs a name of 1..${MAX_NAME_LENGTH} characters without '/'`);
    }
    if (options === null || typeof options !== 'object') throw new SynodError('INVALID_ARGUMENT', 'map: options must be an object');
    const { pages, pageSize } = options;
    if (!Number.isSafeInteger(pages) || pages < 1 || pages > 65535) throw new SynodError('INVALID_ARGUMENT', `pages must be an integer in 1..65535, got ${String(pages)}`);
    if (!Number.isSafeInteger(pageSize) || pageSize < 8 || pageSize % 8 !== 0 || pageSize > 1 << 20) {
      throw new SynodError('INVALID_ARGUMENT', `pageSize must be a multiple of 8 in 8..1 MiB, got ${String(pageSize)}`);
    }
    if (pages * pageSize > MAX_REGION_BYTES) throw new SynodError('INVALID_ARGUMENT', `a region holds at most ${MAX_REGION_BYTES} bytes`);
    const consistency = options.consistency ?? 'release';
    if (consistency !== 'release' && consistency !== 'causal') {
      throw new SynodError('INVALID_ARGUMENT', `consistency must be 'release' or 'causal', got ${String(consistency)}`);
    }
    this.pages = pages;
    this.pageSize = pageSize;
    this.consistency = consistency;
    this.memory = new Uint8Array(pages * pageSize);
    this.applied = new Array<number>(pages).fill(0);
    this.table = new PageLockTable(pages);
    this.kind = (op) => `synod.objects/${name}/${op}`;
    this.storageKey = `synod.objects/${group.name}/${name}/`;

    group.handle(this.kind('acquire'), (message) => this.gated(() => this.applyAcquire(message)));
    group.handle(this.kind('release'), (message) => this.gated(() => this.applyRelease(message)));
    group.handle(this.kind('diff'), (message) => this.gated(() => this.applyDiff(message)));
    group.on('view', (view) => {
      if (!this.sawView) {
        this.sawView = true;
        // A founder starts from its stored copy or zeros; a joiner's state arrives next, saved
        // just before this view, and load() applies this view to it.
        this.stateLoaded = view.members.length === 1;
      }
      this.inMinority = false;
      if (this.stateLoaded) this.applyView(view.members);
    });
    group.on('minority', () => {
      this.inMinority = true;
      for (const section of [...this.sections.values()]) this.lose(section, true);
    });
    group.on('majority', () => {
      this.inMinority = false;
      this.settle();
    });
    group.on('excluded', ({ memberId }) => {
      for (const section of [...this.sections.values()]) this.lose(section, false);
      for (const [request, wait] of [...this.pending]) {
        this.pending.delete(request);
        wait.cancelTimeout?.();
        wait.reject(new SynodError('EXCLUDED', `${memberId} was excluded from ${group.name} while waiting for pages of ${name}`));
      }
      this.sawView = false;
      this.stateLoaded = false;
    });
    group.on('left', ({ reason }) => {
      this.ended = new SynodError('NOT_JOINED', `region ${name}: left group ${group.name}`, { cause: reason });
      for (const section of [...this.sections.values()]) this.lose(section, false);
      for (const [request, wait] of [...this.pending]) {
        this.pending.delete(request);
        wait.cancelTimeout?.();
        wait.reject(this.ended);
      }
    });
    group.statePart(this.kind('state'), {
      save: async () => {
        await this.waitGate();
        return this.saveState();
      },
      load: (bytes) => {
        // A transfer is the group's region: it wins over a stored copy still being read.
        this.transferred = true;
        if (!this.loadState(bytes)) throw new SynodError('INVALID_ARGUMENT', `region ${name}: the transferred state is malformed`);
      },
    });
    if (options.storage) this.hold(this.restore(options.storage));
  }

  get ready(): Promise<void> {
    return this.waitGate();
  }

  // ------------------------------------------------------------------ reads without a lock

  read(page: number): Uint8Array {
    this.checkPage(page);
    const section = this.writerOf(page);
    return (section?.twins.get(page) ?? this.pageBytes(page)).slice();
  }

  version(page: number): number {
    this.checkPage(page);
    return this.applied[page]!;
  }

  holders(page: number) {
    this.checkPage(page);
    return this.table.holders(page).map(({ member, mode, fencingToken }) => ({ member, mode, fencingToken }));
  }

  /** @internal */
  pageBytes(page: number): Uint8Array {
    return this.memory.subarray(page * this.pageSize, (page + 1) * this.pageSize);
  }

  private writerOf(page: number): SectionImpl | undefined {
    for (const section of this.sections.values()) if (section.twins.has(page)) return section;
    return undefined;
  }

  /** Committed bytes of a page: a section in progress here has its twin. */
  private committed(page: number): Uint8Array {
    return this.writerOf(page)?.twins.get(page) ?? this.pageBytes(page);
  }

  private checkPage(page: number): void {
    if (!Number.isSafeInteger(page) || page < 0 || page >= this.pages) {
      throw new SynodError('INVALID_ARGUMENT', `region ${this.name} has pages 0..${this.pages - 1}, not ${String(page)}`);
    }
  }

  // ------------------------------------------------------------------ locking

  async lock(range: PageRange, mode: LockMode = 'write', lockOptions: LockOptions = {}): Promise<Section> {
    const { first, last } = this.parseRange(range);
    if (mode !== 'read' && mode !== 'write') throw new SynodError('INVALID_ARGUMENT', `mode must be 'read' or 'write', got ${String(mode)}`);
    const timeoutMs = lockOptions.timeoutMs;
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      throw new SynodError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    }
    if (this.ended) throw this.ended;
    if (!this.group.view) throw new SynodError('NOT_JOINED', `not yet a member of ${this.group.name}`);
    await this.waitGate();
    if (this.ended) throw this.ended;
    const request = this.nextRequest++;
    return new Promise<Section>((resolve, reject) => {
      const wait: Pending = { first, last, mode, resolve, reject, cancelTimeout: undefined };
      this.pending.set(request, wait);
      const withdraw = (error: unknown) => {
        if (this.pending.get(request) !== wait) return;
        this.pending.delete(request);
        wait.cancelTimeout?.();
        void this.group.safe(this.kind('release'), { request, versions: [] }).catch(() => undefined);
        reject(error);
      };
      if (timeoutMs !== undefined) {
        const clock = this.group.clock;
        const timer = clock.setTimer(() => withdraw(new SynodError('TIMEOUT', `pages ${first}..${last} of ${this.name} not granted within ${timeoutMs} ms`)), timeoutMs);
        wait.cancelTimeout = () => clock.clearTimer(timer);
      }
      this.group.safe(this.kind('acquire'), { request, first, last, mode }).catch(withdraw);
    });
  }

  async withLock<T>(range: PageRange, mode: LockMode, fn: (section: Section) => T | Promise<T>, lockOptions?: LockOptions): Promise<T> {
    const section = await this.lock(range, mode, lockOptions);
    try {
      return await fn(section);
    } finally {
      await section.release();
    }
  }

  private parseRange(range: PageRange): { first: number; last: number } {
    const { first, last } = typeof range === 'number' ? { first: range, last: range } : (range ?? {});
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first! < 0 || last! < first! || last! >= this.pages) {
      throw new SynodError('INVALID_ARGUMENT', `a page range of ${this.name} lies in 0..${this.pages - 1}, got ${JSON.stringify(range)}`);
    }
    return { first: first!, last: last! };
  }

  // ------------------------------------------------------------------ the replicated state machine

  private applyAcquire(message: Message<unknown>): void {
    const body = this.parseControl(message.data, true);
    if (!body) return;
    const granted = this.table.acquire(message.sender, body.request, body.first!, body.last!, body.mode!);
    if (!granted) this.stats.ignoredStale++;
    this.settle();
  }

  private applyRelease(message: Message<unknown>): void {
    const body = this.parseControl(message.data, false);
    if (!body) return;
    if (!this.table.release(message.sender, body.request, body.versions!)) this.stats.ignoredStale++;
    this.settle();
  }

  private applyView(members: readonly MemberId[]): void {
    this.table.retain(new Set(members));
    // Virtual synchrony: every diff of the previous view that a survivor delivered was delivered
    // here before this view. A buffered diff still missing its predecessor, or a version a release
    // named that never came (its causal past died with its writers), never will: drop them and
    // let each page stay as applied, at this same point at every member. Kept, an orphan would
    // chain onto the next writer's diff of the same version, and a grant would wait for ever.
    for (const waiting of this.buffered.values()) this.stats.versionsAbandoned += waiting.size;
    this.buffered.clear();
    for (let page = 0; page < this.pages; page++) {
      if (this.table.agreed[page]! > this.applied[page]!) {
        this.table.agreed[page] = this.applied[page]!;
        this.stats.versionsAbandoned++;
      }
    }
    this.settle();
  }

  private applyDiff(message: Message<unknown>): void {
    const bytes = message.data;
    const diffs = bytes instanceof Uint8Array ? decodeDiffs(bytes, this.pages, this.pageSize) : undefined;
    if (!diffs) {
      this.stats.droppedMalformed++;
      return;
    }
    // Our own diffs were applied at release.
    if (message.sender === this.group.memberId) return;
    for (const diff of diffs.pages) this.offer({ writer: message.sender, request: diffs.request, diff });
    this.persist();
    this.settle();
  }

  /** Applies a page diff if it makes the next version, buffers it if it is early, drops it if applied. */
  private offer(entry: Buffered): void {
    const page = entry.diff.page;
    const applied = this.applied[page]!;
    if (entry.diff.version <= applied) {
      this.stats.ignoredStale++;
      return;
    }
    if (entry.diff.version > applied + 1) {
      let waiting = this.buffered.get(page);
      if (!waiting) this.buffered.set(page, (waiting = new Map()));
      waiting.set(entry.diff.version, entry);
      this.stats.diffsBuffered++;
      return;
    }
    let next: Buffered | undefined = entry;
    while (next) {
      // A section in progress here cannot hold a page another member wrote; if it did (a bug), keep its twin in step.
      const twin = this.writerOf(page)?.twins.get(page);
      applyRuns(this.pageBytes(page), next.diff.runs);
      if (twin) applyRuns(twin, next.diff.runs);
      this.applied[page] = next.diff.version;
      this.dirtyPages.add(page);
      this.stats.diffsApplied++;
      this.emitApply({ page, version: next.diff.version, writer: next.writer, request: next.request, from: 'diff' });
      const waiting = this.buffered.get(page);
      next = waiting?.get(next.diff.version + 1);
      if (next) waiting!.delete(next.diff.version);
      if (waiting?.size === 0) this.buffered.delete(page);
    }
  }

  private emitApply(event: ApplyEvent): void {
    try {
      this.options.onApply?.(event);
    } catch {
      // An observer's bug must not stop the region.
    }
  }

  private parseControl(
    data: unknown,
    isAcquire: boolean,
  ): { request: number; first?: number; last?: number; mode?: LockMode; versions?: [number, number][] } | undefined {
    const bad = () => {
      this.stats.droppedMalformed++;
      return undefined;
    };
    if (typeof data !== 'object' || data === null) return bad();
    const { request, first, last, mode, versions } = data as Record<string, unknown>;
    if (!isCount(request) || request < 1) return bad();
    if (isAcquire) {
      if (!isCount(first) || !isCount(last) || first > last || last >= this.pages || (mode !== 'read' && mode !== 'write')) return bad();
      return { request, first, last, mode };
    }
    if (!Array.isArray(versions) || versions.length > this.pages) return bad();
    for (const pair of versions) {
      if (!Array.isArray(pair) || pair.length !== 2 || !isCount(pair[0]) || pair[0] >= this.pages || !isCount(pair[1])) return bad();
    }
    return { request, versions: versions as [number, number][] };
  }

  /** Resolves every pending lock that is granted and whose pages are up to date here. */
  private settle(): void {
    if (!this.stateLoaded || this.inMinority || this.ended) return;
    const self = this.group.memberId;
    for (const [request, wait] of [...this.pending]) {
      const entry = this.table.find(self, request);
      if (!entry || entry.fencingToken === 0) continue;
      let current = true;
      for (let page = wait.first; page <= wait.last && current; page++) current = this.applied[page]! >= this.table.agreed[page]!;
      if (!current) continue;
      this.pending.delete(request);
      wait.cancelTimeout?.();
      const section = new SectionImpl(this, request, wait.first, wait.last, wait.mode, entry.fencingToken);
      this.sections.set(request, section);
      wait.resolve(section);
    }
  }

  // ------------------------------------------------------------------ this member's sections

  /** @internal Sends the section's diffs and then its release. */
  async release(section: SectionImpl): Promise<void> {
    const diffs: PageDiff[] = [];
    for (const [page, twin] of section.twins) {
      const runs = diffPage(twin, this.pageBytes(page));
      if (runs.length > 0) diffs.push({ page, version: this.applied[page]! + 1, runs });
    }
    let versions: [number, number][] = [];
    if (diffs.length > 0) {
      const bytes = encodeDiffs({ request: section.request, pages: diffs });
      try {
        // Awaited before the release is sent: a release must never name a diff that was not sent.
        await (this.consistency === 'causal' ? this.group.cbcast(this.kind('diff'), bytes) : this.group.fbcast(this.kind('diff'), bytes));
        this.stats.diffsSent++;
        this.stats.diffBytesSent += bytes.length;
        for (const diff of diffs) {
          this.applied[diff.page] = diff.version;
          this.dirtyPages.add(diff.page);
        }
        versions = diffs.map((diff) => [diff.page, diff.version]);
      } catch {
        this.rollback(section);
      }
    }
    // Kept among the sections until here: until the diffs are sent, the twins are what is committed.
    this.sections.delete(section.request);
    section.twins.clear();
    for (const diff of diffs) {
      if (versions.length > 0) this.emitApply({ page: diff.page, version: diff.version, writer: this.group.memberId, request: section.request, from: 'local' });
    }
    this.persist();
    try {
      await this.group.safe(this.kind('release'), { request: section.request, versions });
    } catch {
      // Excluded or left: the view change already released it, and the state transfer replaces the pages.
    }
  }

  /** The lock is gone without a release: undo the section's writes here; with `sendRelease`, tell the group. */
  private lose(section: SectionImpl, sendRelease: boolean): void {
    if (!section.live) return;
    section.lost = true;
    this.sections.delete(section.request);
    this.rollback(section);
    if (sendRelease) void this.group.safe(this.kind('release'), { request: section.request, versions: [] }).catch(() => undefined);
    for (const listener of [...section.lostListeners]) {
      try {
        listener();
      } catch {
        // An app listener's bug must not stop the region.
      }
    }
  }

  private rollback(section: SectionImpl): void {
    if (section.twins.size > 0) this.stats.sectionsRolledBack++;
    for (const [page, twin] of section.twins) this.pageBytes(page).set(twin);
    section.twins.clear();
  }

  /** @internal */
  isHeld(section: SectionImpl): boolean {
    return !this.inMinority && this.sections.get(section.request) === section && this.table.find(this.group.memberId, section.request) !== undefined;
  }

  // ------------------------------------------------------------------ state transfer and storage

  private saveState(): Uint8Array {
    const committed = new Uint8Array(this.memory.length);
    for (let page = 0; page < this.pages; page++) committed.set(this.committed(page), page * this.pageSize);
    const buffered: [string, number, string][] = [];
    for (const waiting of this.buffered.values()) {
      for (const entry of waiting.values()) {
        const bytes = encodeDiffs({ request: entry.request, pages: [entry.diff] });
        buffered.push([entry.writer, entry.request, base64(bytes)]);
      }
    }
    const meta = encoder.encode(
      JSON.stringify({ format: STATE_FORMAT, pages: this.pages, pageSize: this.pageSize, applied: this.applied, table: this.table.snapshot(), buffered }),
    );
    const out = new Uint8Array(4 + meta.length + committed.length);
    new DataView(out.buffer).setUint32(0, meta.length);
    out.set(meta, 4);
    out.set(committed, 4 + meta.length);
    return out;
  }

  private loadState(bytes: Uint8Array): boolean {
    try {
      if (bytes.length < 4) return false;
      const metaLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
      if (4 + metaLength + this.memory.length !== bytes.length) return false;
      const meta = JSON.parse(decoder.decode(bytes.subarray(4, 4 + metaLength))) as Record<string, unknown>;
      if (meta['format'] !== STATE_FORMAT || meta['pages'] !== this.pages || meta['pageSize'] !== this.pageSize) return false;
      const applied = meta['applied'];
      if (!Array.isArray(applied) || applied.length !== this.pages || !applied.every(isCount)) return false;
      const table = new PageLockTable(this.pages);
      if (!table.restore(meta['table'])) return false;
      const bufferedRaw = meta['buffered'];
      if (!Array.isArray(bufferedRaw)) return false;
      const buffered: Buffered[] = [];
      for (const item of bufferedRaw) {
        if (!Array.isArray(item) || typeof item[0] !== 'string' || typeof item[2] !== 'string') return false;
        const decoded = decodeDiffs(unbase64(item[2]), this.pages, this.pageSize);
        if (!decoded || decoded.pages.length !== 1) return false;
        buffered.push({ writer: item[0], request: decoded.request, diff: decoded.pages[0]! });
      }
      this.memory = bytes.slice(4 + metaLength);
      this.applied = applied as number[];
      this.table = table;
      this.buffered.clear();
      for (const entry of buffered) this.offer(entry);
      for (let page = 0; page < this.pages; page++) this.dirtyPages.add(page);
      this.stateLoaded = true;
      this.persist();
      this.applyView(this.group.view?.members ?? []);
      return true;
    } catch {
      return false;
    }
  }

  private async restore(storage: RegionStorage): Promise<void> {
    const meta = await storage.get(`${this.storageKey}meta`);
    if (!meta || this.transferred) return;
    let shape: Record<string, unknown>;
    try {
      shape = JSON.parse(decoder.decode(meta)) as Record<string, unknown>;
    } catch {
      return;
    }
    if (shape['pages'] !== this.pages || shape['pageSize'] !== this.pageSize) return; // another layout: start afresh
    const stored: (Uint8Array | undefined)[] = [];
    for (let page = 0; page < this.pages; page++) stored.push(await storage.get(`${this.storageKey}page/${page}`));
    if (this.transferred) return;
    stored.forEach((bytes, page) => {
      if (!bytes || bytes.length !== 4 + this.pageSize) return;
      this.applied[page] = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
      this.pageBytes(page).set(bytes.subarray(4));
    });
  }

  /** Write-behind: one putMany at a time, of every page changed since the last; bursts coalesce. */
  private persist(): void {
    const storage = this.options.storage;
    if (!storage || this.persisting || this.dirtyPages.size === 0) return;
    this.persisting = true;
    const entries: [string, Uint8Array][] = [[`${this.storageKey}meta`, encoder.encode(JSON.stringify({ pages: this.pages, pageSize: this.pageSize }))]];
    for (const page of this.dirtyPages) {
      const value = new Uint8Array(4 + this.pageSize);
      new DataView(value.buffer).setUint32(0, this.applied[page]!);
      value.set(this.committed(page), 4);
      entries.push([`${this.storageKey}page/${page}`, value]);
    }
    this.dirtyPages.clear();
    storage.putMany(entries).then(
      () => {
        this.stats.persisted++;
        this.persisting = false;
        this.persist();
      },
      () => {
        this.stats.persistFailures++;
        this.persisting = false;
      },
    );
  }

  private hold(until: Promise<unknown>): void {
    const previous = this.gate ?? Promise.resolve();
    const gate: Promise<void> = Promise.all([previous, until.then(undefined, () => undefined)]).then(() => {
      if (this.gate === gate) this.gate = undefined;
    });
    this.gate = gate;
  }

  private async waitGate(): Promise<void> {
    while (this.gate) await this.gate;
  }

  private gated(apply: () => void): void | Promise<void> {
    if (this.gate) return this.waitGate().then(apply);
    apply();
  }
}

class SectionImpl implements Section, SectionAccess {
  /** Page → its content before this section's first write to it. */
  readonly twins = new Map<number, Uint8Array>();
  released = false;
  lost = false;
  readonly lostListeners = new Set<() => void>();
  private readonly views = new Map<number, PageView>();

  constructor(
    private readonly region: RegionImpl,
    readonly request: number,
    readonly first: number,
    readonly last: number,
    readonly mode: LockMode,
    readonly fencingToken: number,
  ) {}

  get pageSize(): number {
    return this.region.pageSize;
  }

  get live(): boolean {
    return !this.released && !this.lost;
  }

  valid(): boolean {
    return this.live && this.region.isHeld(this);
  }

  page(index: number): PageView {
    if (!Number.isSafeInteger(index) || index < this.first || index > this.last) {
      throw new SynodError('NOT_LOCKED', `page ${String(index)} of ${this.region.name} is outside this section (${this.first}..${this.last})`);
    }
    let view = this.views.get(index);
    if (!view) this.views.set(index, (view = new PageView(this, index)));
    return view;
  }

  readable(page: number): Uint8Array {
    if (!this.valid()) throw new SynodError('NOT_LOCKED', `the lock on pages ${this.first}..${this.last} of ${this.region.name} is ${this.released ? 'released' : 'lost'}`);
    return this.region.pageBytes(page);
  }

  writable(page: number): Uint8Array {
    const bytes = this.readable(page);
    if (this.mode !== 'write') throw new SynodError('NOT_LOCKED', `page ${page} of ${this.region.name} is locked for reading only`);
    if (!this.twins.has(page)) this.twins.set(page, bytes.slice());
    return bytes;
  }

  onLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async release(): Promise<void> {
    if (!this.live) return;
    this.released = true; // no write after this point reaches the diff
    await this.region.release(this);
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function base64(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function unbase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
