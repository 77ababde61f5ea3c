/**
 * xfer: state transfer to joiners at the cut where they enter (JGroups STATE_TRANSFER, Isis XFER).
 * The provider snapshots the app state between the last delivery of the old view and the first of
 * the new one; joiners pull it in chunks, a window at a time, re-requesting what is lost.
 */
import type { MemberId } from './api.js';

export class StateProvider {
  state: Uint8Array | undefined;
  /** When a joiner last asked for chunks: a silent transfer gets its joiners probed. */
  lastActivityMs: number;
  constructor(
    readonly viewId: number,
    readonly joiners: Set<MemberId>,
    private readonly chunkBytes: number,
    nowMs: number,
  ) {
    this.lastActivityMs = nowMs;
  }

  chunk(index: number): Uint8Array | undefined {
    if (!this.state) return undefined;
    const offset = index * this.chunkBytes;
    if (offset > this.state.length || (offset === this.state.length && index !== 0)) return undefined;
    return this.state.subarray(offset, Math.min(this.state.length, offset + this.chunkBytes));
  }
}

export class StateReceiver {
  private stateBytes = -1;
  private readonly chunks = new Map<number, Uint8Array>();
  private readonly requestedAt = new Map<number, number>();
  private receivedBytes = 0;

  constructor(
    readonly viewId: number,
    readonly provider: MemberId,
    private readonly chunkBytes: number,
    private readonly maxStateBytes: number,
  ) {}

  private get chunkCount(): number {
    return this.stateBytes < 0 ? 1 : Math.max(1, Math.ceil(this.stateBytes / this.chunkBytes));
  }

  /** Chunk indexes to ask for now: a window of outstanding requests, re-asking the overdue. */
  requests(nowMs: number, windowChunks: number, retryMs: number): number[] {
    const out: number[] = [];
    let outstanding = 0;
    for (const at of this.requestedAt.values()) if (nowMs - at < retryMs) outstanding++;
    for (let index = 0; index < this.chunkCount && outstanding < windowChunks; index++) {
      if (this.chunks.has(index)) continue;
      const at = this.requestedAt.get(index);
      if (at !== undefined && nowMs - at < retryMs) continue;
      this.requestedAt.set(index, nowMs);
      out.push(index);
      outstanding++;
      if (this.stateBytes < 0) break;
    }
    return out;
  }

  /** Returns the whole state once the last chunk is in; false if the chunk is inconsistent. */
  accept(index: number, stateBytes: number, data: Uint8Array): Uint8Array | undefined | false {
    if (stateBytes > this.maxStateBytes) return false;
    if (this.stateBytes < 0) this.stateBytes = stateBytes;
    if (stateBytes !== this.stateBytes || index >= this.chunkCount) return false;
    const expected = Math.min(this.chunkBytes, this.stateBytes - index * this.chunkBytes);
    if (data.length !== Math.max(0, expected)) return false;
    if (this.chunks.has(index)) return undefined;
    this.chunks.set(index, data.slice());
    this.requestedAt.delete(index);
    this.receivedBytes += data.length;
    if (this.chunks.size < this.chunkCount) return undefined;
    const state = new Uint8Array(this.stateBytes);
    for (const [i, chunk] of this.chunks) state.set(chunk, i * this.chunkBytes);
    return state;
  }

  get progressBytes(): number {
    return this.receivedBytes;
  }
}
