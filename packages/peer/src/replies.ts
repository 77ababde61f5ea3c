import { SynodError, type MemberId } from '@synod/core';

/** How many replies a request waits for. */
export type RepliesWanted = 'all' | 'majority' | number;

export interface Reply<T = unknown> {
  readonly sender: MemberId;
  /** The value the replier passed to reply(): a Uint8Array, a string, a JSON value or undefined. */
  readonly data: T;
  /** The reply's body as it travelled. */
  readonly bytes: Uint8Array;
}

interface PendingRequest {
  readonly wanted: RepliesWanted;
  /** Members that delivered the request and have not answered; known once the requester delivers it. */
  outstanding: Set<MemberId> | undefined;
  /** How many replies complete the request; fixed when the requester delivers it. */
  target: number;
  readonly replies: Reply[];
  /** Answers that arrived before the requester delivered its own request. */
  readonly early: Map<MemberId, Reply | null>;
  readonly resolve: (replies: Reply[]) => void;
  readonly reject: (error: unknown) => void;
  /** Resolves early once it holds for the replies gathered so far. */
  readonly until: ((replies: readonly Reply[]) => boolean) | undefined;
}

export function validateRepliesWanted(wanted: unknown): asserts wanted is RepliesWanted {
  if (wanted === 'all' || wanted === 'majority') return;
  if (typeof wanted === 'number' && Number.isInteger(wanted) && wanted >= 1) return;
  throw new SynodError('INVALID_ARGUMENT', `replies must be 'all', 'majority' or a positive integer, got ${String(wanted)}`);
}

/**
 * Gathers the replies to this member's requests. Fed in the core's upcall order, synchronously (not
 * through the monitor, so a handler awaiting replies cannot block them):
 *
 * - the requester's own delivery of a request fixes the expected set: the members of the view in
 *   which it was delivered (virtual synchrony: exactly the survivors that deliver it);
 * - a new view drops the members that left from every expected set, so 'all' completes when a
 *   member fails;
 * - a 'no reply' (no handler, or the handler declined) drops one member.
 *
 * As in Isis, a request resolves with fewer replies than wanted when no more can come.
 */
export class ReplyGatherer {
  private readonly pending = new Map<number, PendingRequest>();

  get size(): number {
    return this.pending.size;
  }

  open(
    requestNo: number,
    wanted: RepliesWanted,
    resolve: (replies: Reply[]) => void,
    reject: (error: unknown) => void,
    until?: (replies: readonly Reply[]) => boolean,
  ): void {
    this.pending.set(requestNo, {
      until,
      wanted,
      outstanding: undefined,
      target: 0,
      replies: [],
      early: new Map(),
      resolve,
      reject,
    });
  }

  has(requestNo: number): boolean {
    return this.pending.has(requestNo);
  }

  /** The requester delivered its own request in a view with these members. */
  delivered(requestNo: number, viewMembers: readonly MemberId[]): void {
    const request = this.pending.get(requestNo);
    if (!request || request.outstanding) return;
    request.outstanding = new Set(viewMembers);
    const wanted = request.wanted;
    request.target =
      wanted === 'all' ? viewMembers.length : wanted === 'majority' ? Math.floor(viewMembers.length / 2) + 1 : wanted;
    for (const [sender, reply] of request.early) this.answer(request, sender, reply);
    request.early.clear();
    this.check(requestNo, request);
  }

  reply(requestNo: number, reply: Reply): void {
    this.receive(requestNo, reply.sender, reply);
  }

  noReply(requestNo: number, sender: MemberId): void {
    this.receive(requestNo, sender, null);
  }

  /** A view was installed: members not in it will never answer. */
  view(members: readonly MemberId[]): void {
    const present = new Set(members);
    for (const [requestNo, request] of this.pending) {
      if (!request.outstanding) continue;
      for (const member of request.outstanding) if (!present.has(member)) request.outstanding.delete(member);
      this.check(requestNo, request);
    }
  }

  fail(requestNo: number, error: unknown): void {
    const request = this.pending.get(requestNo);
    if (!request) return;
    this.pending.delete(requestNo);
    request.reject(error);
  }

  failAll(error: unknown): void {
    for (const requestNo of [...this.pending.keys()]) this.fail(requestNo, error);
  }

  private receive(requestNo: number, sender: MemberId, reply: Reply | null): void {
    const request = this.pending.get(requestNo);
    if (!request) return;
    if (!request.outstanding) {
      if (!request.early.has(sender)) request.early.set(sender, reply);
      return;
    }
    this.answer(request, sender, reply);
    this.check(requestNo, request);
  }

  private answer(request: PendingRequest, sender: MemberId, reply: Reply | null): void {
    // Only members that delivered the request answer it, each once.
    if (!request.outstanding!.delete(sender)) return;
    if (reply) request.replies.push(reply);
  }

  private check(requestNo: number, request: PendingRequest): void {
    if (!request.outstanding) return;
    let enough = request.replies.length >= request.target || request.outstanding.size === 0;
    if (!enough && request.until && request.replies.length > 0) {
      try {
        enough = request.until(request.replies.slice()) === true;
      } catch (error) {
        this.fail(requestNo, error);
        return;
      }
    }
    if (enough) {
      this.pending.delete(requestNo);
      request.resolve(request.replies.slice(0, request.target));
    }
  }
}
