/**
 * The simulated application's replicated state: an order-independent digest of every message the
 * member has delivered (count plus two commutative 32-bit sums over the delivered ids' hashes). Two
 * members that delivered the same set of messages, in any order, have equal state; state transfer
 * hands a joiner the provider's digest at the cut. The encoded snapshot can be padded to exercise
 * chunked transfer; the padding is derived from the digest, so corruption is detected on load.
 */
import { hash32, mix32 } from './prng.js';
import { checksum, fillerMismatch, fillFrom } from './payload.js';

const STATE_MAGIC = 0x53544154; // 'STAT'
const HEADER_BYTES = 4 + 4 + 4 + 4 + 4;

export class AppState {
  count = 0;
  sumA = 0;
  sumB = 0;

  apply(messageId: string): void {
    this.count++;
    const hash = hash32(messageId);
    this.sumA = (this.sumA + hash) >>> 0;
    // A second, non-linear function of the same hash: sets that collide on sumA differ here.
    this.sumB = (this.sumB + mix32(hash ^ 0x9e3779b9)) >>> 0;
  }

  /** A printable, comparable form of the state. */
  digest(): string {
    return `${this.count}:${this.sumA.toString(16)}:${this.sumB.toString(16)}`;
  }

  /** magic, count, sumA, sumB, paddingBytes, padding, checksum. */
  encode(paddingBytes: number): Uint8Array {
    const bytes = new Uint8Array(HEADER_BYTES + paddingBytes + 4);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, STATE_MAGIC);
    view.setUint32(4, this.count);
    view.setUint32(8, this.sumA);
    view.setUint32(12, this.sumB);
    view.setUint32(16, paddingBytes);
    fillFrom(bytes, HEADER_BYTES, HEADER_BYTES + paddingBytes, this.paddingSeed());
    view.setUint32(bytes.length - 4, checksum(bytes, bytes.length - 4));
    return bytes;
  }

  static decode(bytes: Uint8Array): { state: AppState } | { error: string } {
    if (bytes.length < HEADER_BYTES + 4) return { error: `state too short (${bytes.length} bytes)` };
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0) !== STATE_MAGIC) return { error: 'state has a bad magic' };
    const paddingBytes = view.getUint32(16);
    if (bytes.length !== HEADER_BYTES + paddingBytes + 4) {
      return { error: `state is ${bytes.length} bytes, header says ${HEADER_BYTES + paddingBytes + 4}` };
    }
    if (view.getUint32(bytes.length - 4) !== checksum(bytes, bytes.length - 4)) {
      return { error: 'state has a bad checksum' };
    }
    const state = new AppState();
    state.count = view.getUint32(4);
    state.sumA = view.getUint32(8);
    state.sumB = view.getUint32(12);
    const differsAt = fillerMismatch(bytes, HEADER_BYTES, HEADER_BYTES + paddingBytes, state.paddingSeed());
    if (differsAt >= 0) return { error: `state padding differs at byte ${differsAt}` };
    return { state };
  }

  private paddingSeed(): number {
    return mix32(this.count ^ mix32(this.sumA ^ mix32(this.sumB)));
  }
}
