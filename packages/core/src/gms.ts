/**
 * gms + flush: how a coordinator chooses the next view. A view change is a single-decree Paxos
 * round over the old view, as in Isis's flush with a coordinator takeover:
 *   1. flushStart(ballot): members stop sending and delivering, and promise with their digest and
 *      any proposal they have completed (they hold every unit up to its cut);
 *   2. flushAccept(proposal): the next members and the cut; members fetch what they lack;
 *   3. flushOk from every promiser, then view: each member delivers up to the cut and installs.
 * A coordinator that takes over adopts the highest-ballot completed proposal, so that two
 * coordinators can never install two different successors of one view; every round needs a quorum
 * of the old view (primary partition), so a minority never installs a view.
 */
import type { MemberId } from './api.js';
import { compareBallots, type Ballot, type Frame, type Proposal } from './wire.js';

export type FlushPromise = Extract<Frame, { kind: 'flushPromise' }>;

/**
 * A quorum: a strict majority of the view; or exactly half of it holding a strict majority of the
 * members `carried` over from the previous view; or exactly half holding exactly half of those
 * and the oldest member. Any two quorums of a view intersect. Ties go to the carried-over members
 * before the oldest because a joiner may never install the view that names it: a coordinator that
 * crashes after its round completed leaves a proposal that its successor must adopt as it is (the
 * view may have been installed), joiners and crashed members included. With the joiner gone too,
 * the members that carried on must still be able to move on.
 */
export function isQuorum(alive: readonly MemberId[], members: readonly MemberId[], carried: readonly MemberId[] = members): boolean {
  const twice = alive.length * 2;
  if (twice !== members.length) return twice > members.length;
  const carriedTwice = carried.filter((member) => alive.includes(member)).length * 2;
  if (carriedTwice !== carried.length) return carriedTwice > carried.length;
  return alive.includes(members[0]!);
}

export function chooseProposal(
  oldMembers: readonly MemberId[],
  promises: ReadonlyMap<MemberId, FlushPromise>,
  staying: readonly MemberId[],
  joiners: readonly MemberId[],
): Proposal | undefined {
  const participants = [...promises.keys()];
  // Completed proposals, highest ballot first. One must be adopted unless it provably was never
  // installed: a member its round needed reports a lower (or incomplete) accepted ballot, so it
  // never sent that round's flushOk, so that round never sent its view. Skipping those keeps a
  // view whose members crashed since from being installed without a quorum.
  const completed = [...promises]
    .filter(([, promise]) => promise.completed)
    .map(([reporter, promise]) => ({ ...promise.completed!, reporter }))
    .sort((a, b) => compareBallots(b.ballot, a.ballot));
  for (const candidate of completed) {
    const neverInstalled = candidate.proposal.participants.some((member) => {
      const promise = promises.get(member);
      if (!promise) return false;
      const accepted = promise.accepted;
      if (!accepted) return true;
      const order = compareBallots(accepted, candidate.ballot);
      return order < 0 || (order === 0 && compareBallots(promise.completed?.ballot ?? { attempt: -1, coordinator: 0 }, candidate.ballot) !== 0);
    });
    if (neverInstalled) continue;
    // The reporter holds every unit up to the adopted cut, so it serves them all.
    const holder = oldMembers.indexOf(candidate.reporter);
    return { ...candidate.proposal, holders: candidate.proposal.cut.map(() => holder), participants };
  }
  const cut = oldMembers.map(() => 0);
  const holders = oldMembers.map((_, index) => index);
  for (const [reporter, promise] of promises) {
    const reporterIndex = oldMembers.indexOf(reporter);
    promise.received.forEach((seqno, sender) => {
      if (sender < cut.length && seqno > cut[sender]!) {
        cut[sender] = seqno;
        holders[sender] = reporterIndex;
      }
    });
  }
  // A joiner still waiting for its state from a provider that does not make it into the next view
  // can never get that state: it leaves with the provider and joins afresh. So the oldest member
  // of every view (the provider for its joiners) always has a state to give.
  const members = [...staying, ...joiners.filter((joiner) => !oldMembers.includes(joiner))].filter((member) => {
    const stateFrom = promises.get(member)?.stateFrom ?? '';
    return stateFrom === '' || staying.includes(stateFrom);
  });
  // Members stay, but none of them holds the group's state (joiners whose providers are all gone
  // or cut off): no view. Ending this one would strand whoever holds the state without a quorum.
  // (Unless holders leave on purpose: the state goes with them, and the joiners join afresh.)
  const holdsState = (member: MemberId) => promises.get(member)?.stateFrom === '';
  const holderLeaving = participants.some((member) => !staying.includes(member) && holdsState(member));
  if (staying.length > 0 && !members.some(holdsState) && !holderLeaving) return undefined;
  return { members, cut, holders, participants };
}
