/** causal: vector timestamps per view (Birman–Schiper–Stephenson). */

export interface CausalMessage {
  readonly senderIndex: number;
  readonly vectorClock: readonly number[];
}

export class CausalOrder<M extends CausalMessage> {
  /** delivered[i]: how many causal messages of member i this member has delivered in the view. */
  readonly delivered: number[];
  private pending: M[] = [];

  constructor(memberCount: number) {
    this.delivered = new Array<number>(memberCount).fill(0);
  }

  /** The timestamp of the next causal message this member sends. */
  stamp(selfIndex: number): number[] {
    const clock = [...this.delivered];
    clock[selfIndex] = clock[selfIndex]! + 1;
    return clock;
  }

  add(message: M): void {
    this.pending.push(message);
  }

  private ready(message: M): boolean {
    const clock = message.vectorClock;
    if (clock.length !== this.delivered.length) return false;
    for (let i = 0; i < clock.length; i++) {
      const needed = i === message.senderIndex ? this.delivered[i]! + 1 : this.delivered[i]!;
      if (i === message.senderIndex ? clock[i] !== needed : clock[i]! > needed) return false;
    }
    return true;
  }

  /** Removes and returns every pending message that is causally ready, in a causal order. */
  takeReady(accept: (message: M) => boolean = () => true): M[] {
    const out: M[] = [];
    let progress = true;
    while (progress) {
      progress = false;
      for (let i = 0; i < this.pending.length; i++) {
        const message = this.pending[i]!;
        if (!accept(message) || !this.ready(message)) continue;
        this.pending.splice(i, 1);
        this.delivered[message.senderIndex]!++;
        out.push(message);
        progress = true;
        i--;
      }
    }
    return out;
  }

  /** Messages left undeliverable at the end of a view (their causal past was lost with a crash). */
  drain(): M[] {
    const left = this.pending;
    this.pending = [];
    return left;
  }

  get size(): number {
    return this.pending.length;
  }
}
