/**
 * stable: stability digests (JGroups STABLE). Each member reports, per sender, the highest seqno it
 * holds without a gap; a unit is stable once every member of the view holds it. Stable units are
 * garbage-collected; safe delivery and flow control both wait on stability.
 */
export class DigestTable {
  /** rows[j][i]: what member j last reported holding of sender i's stream. */
  private readonly rows: number[][];

  constructor(readonly memberCount: number) {
    this.rows = Array.from({ length: memberCount }, () => new Array<number>(memberCount).fill(0));
  }

  /** Merges a report; digests only grow, so a reordered old report changes nothing. */
  update(reporter: number, received: readonly number[]): void {
    const row = this.rows[reporter];
    if (!row || received.length !== this.memberCount) return;
    for (let i = 0; i < this.memberCount; i++) if (received[i]! > row[i]!) row[i] = received[i]!;
  }

  /** `update` for one sender's entry. */
  raise(reporter: number, sender: number, seqno: number): void {
    const row = this.rows[reporter];
    if (row && sender < this.memberCount && seqno > row[sender]!) row[sender] = seqno;
  }

  reported(reporter: number, sender: number): number {
    return this.rows[reporter]?.[sender] ?? 0;
  }

  /** The highest seqno of `sender` that every member holds. */
  stable(sender: number): number {
    let min = Number.MAX_SAFE_INTEGER;
    for (const row of this.rows) min = Math.min(min, row[sender]!);
    return min;
  }

  /** The highest seqno of `sender` anyone reports, and who reports it. */
  best(sender: number): { seqno: number; holder: number } {
    let seqno = 0;
    let holder = sender;
    this.rows.forEach((row, reporter) => {
      if (row[sender]! > seqno) {
        seqno = row[sender]!;
        holder = reporter;
      }
    });
    return { seqno, holder };
  }
}
