/** frag: split messages into transport-sized chunks and reassemble them (JGroups FRAG2). */
import { retainFrameBytes, type DeferredReleases } from './frames.js';

/** How many fragments a payload of `payloadBytes` makes (an empty payload is one empty fragment). */
export function chunkCount(payloadBytes: number, chunkBytes: number): number {
  return payloadBytes === 0 ? 1 : Math.ceil(payloadBytes / chunkBytes);
}

/**
 * Fragment `index` of `payload`: chunkBytes each, the last one shorter. Made one at a time as the
 * flow window allows, not as an array up front; a payload of one fragment is that fragment itself.
 */
export function chunkOf(payload: Uint8Array, index: number, chunkBytes: number): Uint8Array {
  if (index === 0 && payload.length <= chunkBytes) return payload;
  return payload.subarray(index * chunkBytes, Math.min(payload.length, (index + 1) * chunkBytes));
}

export interface Fragment {
  readonly first: boolean;
  readonly last: boolean;
  readonly messageBytes: number;
  readonly chunk: Uint8Array;
}

/**
 * Reassembles one sender's fragments. The fifo layer hands them over in seqno order without gaps,
 * so a message is a run first..last. A sender that breaks the framing loses the broken message
 * (counted), never the stream.
 *
 * A message of one fragment is its chunk itself, not a copy: a view into a frame the member keeps
 * for retransmission until it is stable, so whoever takes the delivery must not modify it. The
 * chunks of a message in progress are views into frames that may become stable (and be released
 * by the stream) before its last fragment comes: with `releases`, the reassembler holds a
 * reference to each (frames.ts) until the message is complete or abandoned.
 */
export class Reassembler {
  /** Chunks of the message in progress after its first (most messages have none). */
  private readonly chunks: Uint8Array[] = [];
  private firstChunk: Uint8Array | undefined;
  private receivedBytes = 0;
  private expectedBytes = 0;
  private firstSeqno = 0;
  private inProgress = false;
  malformed = 0;

  constructor(private readonly releases?: DeferredReleases) {}

  /**
   * Returns the complete message when `fragment` is its last piece; `firstSeqno` says where it
   * began. With `releases`, a message of one fragment comes with a reference to its frame's slab,
   * which the caller releases once it is done with it (a longer one is a copy of its own).
   */
  push(seqno: number, fragment: Fragment): Uint8Array | undefined {
    if (fragment.first) {
      if (this.inProgress) {
        this.malformed++;
        this.drop();
      }
      this.firstChunk = fragment.chunk;
      this.receivedBytes = fragment.chunk.length;
      this.expectedBytes = fragment.messageBytes;
      this.firstSeqno = seqno;
      this.inProgress = true;
    } else if (!this.inProgress) {
      this.malformed++;
      return undefined;
    } else {
      this.chunks.push(fragment.chunk);
      this.receivedBytes += fragment.chunk.length;
    }
    if (this.releases) retainFrameBytes(fragment.chunk);
    if (this.receivedBytes > this.expectedBytes) return this.abandon();
    if (!fragment.last) return undefined;
    if (this.receivedBytes !== this.expectedBytes) return this.abandon();
    this.inProgress = false;
    const first = this.firstChunk!;
    if (this.chunks.length === 0) {
      // Its reference goes with it.
      this.firstChunk = undefined;
      return first;
    }
    const payload = new Uint8Array(this.receivedBytes);
    payload.set(first, 0);
    let offset = first.length;
    for (const chunk of this.chunks) {
      payload.set(chunk, offset);
      offset += chunk.length;
    }
    this.drop();
    return payload;
  }

  /** Forgets the chunks kept so far, releasing them. */
  private drop(): void {
    if (this.releases) {
      if (this.firstChunk) this.releases.add(this.firstChunk);
      for (const chunk of this.chunks) this.releases.add(chunk);
    }
    this.firstChunk = undefined;
    this.chunks.length = 0;
  }

  /** The seqno of the first fragment of the message push() last completed. */
  get completedFirstSeqno(): number {
    return this.firstSeqno;
  }

  private abandon(): undefined {
    this.malformed++;
    this.inProgress = false;
    this.drop();
    return undefined;
  }
}
