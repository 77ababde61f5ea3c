/**
 * found: who may found a group. Hearing the other looking peers is not enough under loss: two
 * peers that miss each other's frames for a few rounds would each found a group of one name, and
 * such groups never merge (a split brain). So a would-be founder stands as a candidate and founds
 * only with the consent of a majority of the peers it knows (itself included). Each peer consents
 * to one candidate at a time and keeps that vote until the candidate withdraws (and says so), so
 * two candidates of one set of peers can never both hold a majority. The smaller id wins a
 * contest: a candidate that learns of a smaller one withdraws, releases its voters and votes for it.
 */
import type { MemberId } from './api.js';

export interface VoteAnswer {
  readonly granted: boolean;
  /** The candidate this peer supports ('' for none). */
  readonly votedFor: MemberId;
}

export class Founding {
  /** The candidate this peer consented to (itself while it stands), and that candidate's attempt. */
  private vote: { candidate: MemberId; attempt: number } | undefined;
  /** Per candidate, the highest attempt it withdrew: older requests arriving late are ignored. */
  private readonly released = new Map<MemberId, number>();
  private attempts = 0;
  private candidacy: { readonly attempt: number; readonly grants: Set<MemberId>; readonly asked: Set<MemberId> } | undefined;
  /** Voters of a withdrawn candidacy, with its attempt: told again each round, as a release may be lost. */
  readonly releasesOwed = new Map<MemberId, number>();

  constructor(private readonly self: MemberId) {}

  get standing(): boolean {
    return this.candidacy !== undefined;
  }

  get attempt(): number {
    return this.candidacy?.attempt ?? 0;
  }

  /** A peer that consented to another candidate may not stand itself. */
  get mayStand(): boolean {
    return this.vote === undefined || this.vote.candidate === this.self;
  }

  /** Stands as a candidate (votes for itself); returns the attempt to ask for votes with. */
  stand(): number {
    if (this.candidacy) return this.candidacy.attempt;
    const attempt = ++this.attempts;
    this.candidacy = { attempt, grants: new Set([this.self]), asked: new Set() };
    this.vote = { candidate: this.self, attempt };
    return attempt;
  }

  /** Peers yet to grant the current candidacy; they are about to be asked, and are recorded as asked. */
  ungranted(peers: readonly MemberId[]): MemberId[] {
    const candidacy = this.candidacy;
    if (!candidacy) return [];
    const ask = peers.filter((peer) => !candidacy.grants.has(peer));
    for (const peer of ask) candidacy.asked.add(peer);
    return ask;
  }

  /** Records a peer asked for its vote outside the rounds (a rival candidate just learnt of). */
  asking(peer: MemberId): void {
    this.candidacy?.asked.add(peer);
  }

  /**
   * Gives up standing: every peer asked is owed a release, not only the grants heard of. A grant
   * whose answer was lost, or arrived after the withdrawal, binds its voter as much as one counted;
   * without a release it would hold that vote for ever, and with it the founding of the group.
   * Never after founding with these votes.
   */
  withdraw(): void {
    const candidacy = this.candidacy;
    if (!candidacy) return;
    for (const voter of [...candidacy.grants, ...candidacy.asked]) if (voter !== this.self) this.releasesOwed.set(voter, candidacy.attempt);
    this.candidacy = undefined;
    this.vote = undefined;
  }

  /**
   * Whether the current candidacy holds a strict majority of itself and `peers` other peers.
   * Votes are counted, not matched against the peers by id: a shell may address a contact by a
   * guess of its member id (its address with an older incarnation).
   */
  hasMajority(peers: number): boolean {
    const grants = this.candidacy?.grants;
    return grants !== undefined && grants.size * 2 > peers + 1;
  }

  /** A candidate asks for this peer's vote; undefined for a request older than its withdrawal. */
  onRequest(from: MemberId, attempt: number): VoteAnswer | undefined {
    if (attempt <= (this.released.get(from) ?? 0)) return undefined;
    // The smaller id wins a contest of candidates.
    if (this.candidacy && from < this.self) this.withdraw();
    if (this.vote === undefined || this.vote.candidate === from) {
      this.vote = { candidate: from, attempt: Math.max(attempt, this.vote?.attempt ?? 0) };
      return { granted: true, votedFor: from };
    }
    return { granted: false, votedFor: this.vote.candidate };
  }

  /** An answer to this peer's candidacy. Returns true when this peer should withdraw. */
  onAnswer(from: MemberId, attempt: number, answer: VoteAnswer): boolean {
    const candidacy = this.candidacy;
    if (!candidacy || candidacy.attempt !== attempt) return false;
    if (answer.granted) {
      candidacy.grants.add(from);
      return false;
    }
    return answer.votedFor !== '' && answer.votedFor < this.self;
  }

  onRelease(from: MemberId, attempt: number): void {
    this.released.set(from, Math.max(attempt, this.released.get(from) ?? 0));
    if (this.vote && this.vote.candidate === from && this.vote.attempt <= attempt) this.vote = undefined;
  }

  /** Founded: the vote for itself stands for good, and nobody is owed anything any more. */
  founded(): void {
    this.candidacy = undefined;
    this.releasesOwed.clear();
  }
}
