/**
 * fd: heartbeat failure detection (JGroups FD_ALL3). Every frame of the current view from a member
 * counts as a heartbeat; silence for suspectAfterMs, or the transport's link-down hint, makes the
 * member suspected. Suspicion sticks for the view (Isis: a suspected member is excluded), except
 * that a member stuck in a minority forgives the members it hears from again.
 */
import type { MemberId } from './api.js';

export class FailureDetector {
  private readonly lastHeard = new Map<MemberId, number>();
  readonly suspects = new Set<MemberId>();

  constructor(private readonly suspectAfterMs: number) {}

  /** A new view: everyone in it starts out alive. */
  reset(members: readonly MemberId[], self: MemberId, nowMs: number): void {
    this.lastHeard.clear();
    this.suspects.clear();
    for (const member of members) if (member !== self) this.lastHeard.set(member, nowMs);
  }

  heard(member: MemberId, nowMs: number): void {
    if (this.lastHeard.has(member)) this.lastHeard.set(member, nowMs);
  }

  /** Returns true when `member` was not suspected before. */
  suspect(member: MemberId): boolean {
    if (!this.lastHeard.has(member) || this.suspects.has(member)) return false;
    this.suspects.add(member);
    return true;
  }

  forgive(member: MemberId): boolean {
    return this.suspects.delete(member);
  }

  /** Suspects everyone silent for too long; returns the newly suspected. */
  check(nowMs: number): MemberId[] {
    const newly: MemberId[] = [];
    for (const [member, heardMs] of this.lastHeard) {
      if (nowMs - heardMs > this.suspectAfterMs && this.suspect(member)) newly.push(member);
    }
    return newly;
  }

  nextDeadline(): number | undefined {
    let deadline: number | undefined;
    for (const [member, heardMs] of this.lastHeard) {
      if (this.suspects.has(member)) continue;
      const at = heardMs + this.suspectAfterMs + 1;
      if (deadline === undefined || at < deadline) deadline = at;
    }
    return deadline;
  }
}
