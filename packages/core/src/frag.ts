/** frag: split messages into transport-sized chunks and reassemble them (JGroups FRAG2). */

export function fragment(payload: Uint8Array, chunkBytes: number): Uint8Array[] {
  if (payload.length === 0) return [payload];
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < payload.length; offset += chunkBytes) {
    chunks.push(payload.subarray(offset, Math.min(payload.length, offset + chunkBytes)));
  }
  return chunks;
}

export interface Fragment {
  readonly seqno: number;
  readonly first: boolean;
  readonly last: boolean;
  readonly messageBytes: number;
  readonly chunk: Uint8Array;
}

/**
 * Reassembles one sender's fragments. The fifo layer hands them over in seqno order without gaps,
 * so a message is a run first..last. A sender that breaks the framing loses the broken message
 * (counted), never the stream.
 */
export class Reassembler {
  private chunks: Uint8Array[] = [];
  private receivedBytes = 0;
  private expectedBytes = 0;
  private firstSeqno = 0;
  private inProgress = false;
  malformed = 0;

  /** Returns the complete message when `fragment` is its last piece. */
  push(fragment: Fragment): { firstSeqno: number; payload: Uint8Array } | undefined {
    if (fragment.first) {
      if (this.inProgress) this.malformed++;
      this.chunks = [];
      this.receivedBytes = 0;
      this.expectedBytes = fragment.messageBytes;
      this.firstSeqno = fragment.seqno;
      this.inProgress = true;
    } else if (!this.inProgress) {
      this.malformed++;
      return undefined;
    }
    this.chunks.push(fragment.chunk);
    this.receivedBytes += fragment.chunk.length;
    if (this.receivedBytes > this.expectedBytes) return this.abandon();
    if (!fragment.last) return undefined;
    if (this.receivedBytes !== this.expectedBytes) return this.abandon();
    this.inProgress = false;
    const firstSeqno = this.firstSeqno;
    if (this.chunks.length === 1) return { firstSeqno, payload: this.chunks[0]!.slice() };
    const payload = new Uint8Array(this.receivedBytes);
    let offset = 0;
    for (const chunk of this.chunks) {
      payload.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [];
    return { firstSeqno, payload };
  }

  private abandon(): undefined {
    this.malformed++;
    this.inProgress = false;
    this.chunks = [];
    return undefined;
  }
}
