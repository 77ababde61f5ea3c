/**
 * What the fault schedule may do and when the run is done: the quorum rules that keep every
 * injected fault survivable, and the convergence test of the quiet phase.
 */
import type { MemberId, View } from '@synod/core';
import type { Cluster, Incarnation, SimNode } from './cluster.js';
import { viewIdOfMessage } from './history.js';

/**
 * Views a flush has settled on but no member has installed yet: accepted by some live member, so
 * they can be installed at any moment, as they are (a coordinator that takes over adopts them).
 */
export function acceptedViews(cluster: Cluster): { viewId: number; members: readonly MemberId[] }[] {
  const views = new Map<string, { viewId: number; members: readonly MemberId[] }>();
  for (const inc of cluster.allIncarnations()) {
    const accepted = inc.alive ? inc.member.acceptedView : undefined;
    if (accepted === undefined || accepted.viewId <= cluster.maxViewId) continue;
    views.set(`${accepted.viewId}:${accepted.members.join()}`, { viewId: accepted.viewId, members: accepted.members });
  }
  return [...views.values()];
}

/** The latest view any member installed, and the one before it when known. */
export function latestViews(cluster: Cluster): { viewId: number; members: readonly MemberId[] }[] {
  const result: { viewId: number; members: readonly MemberId[] }[] = [];
  for (const viewId of [cluster.maxViewId, cluster.maxViewId - 1]) {
    const members = cluster.views.get(viewId);
    if (members !== undefined) result.push({ viewId, members });
  }
  return result;
}

/**
 * Would the latest view (and the previous one, while some live member has not installed the
 * latest yet, and any view accepted in a flush but not installed yet) still have a connected
 * majority of working members if `without` stopped and the network were split as `blockOf` says? The fault schedule only injects faults that keep this
 * true, so the group can always make progress: losing the primary partition forever is a
 * legitimate outcome, not a bug the simulator is looking for.
 */
export function keepsMajority(
  cluster: Cluster,
  without: ReadonlySet<SimNode>,
  blockOf?: (node: SimNode) => number,
): boolean {
  const block = blockOf ?? ((node: SimNode) => cluster.network.blockOfNode(node.index));
  const [latest, previous] = latestViews(cluster);
  const settled = latest?.members.every((id) => {
    const inc = cluster.incarnation(id);
    return inc === undefined || !inc.alive || inc.app.view?.viewId === latest.viewId;
  });
  const views = settled || previous === undefined ? [latest] : [latest, previous];
  // A view accepted in a flush binds the group as much as an installed one: with no majority of
  // it left, no protocol could go on (the members that may have installed it block, and the
  // others must not move on without them).
  views.push(...acceptedViews(cluster));
  for (const view of views) {
    if (view === undefined) continue;
    const counts = new Map<number, number>();
    // The side that keeps the majority must also keep someone who holds the app state (not a
    // joiner still waiting for it): with every copy of the state gone, no protocol can go on.
    const holders = new Set<number>();
    for (const id of view.members) {
      const inc = cluster.incarnation(id);
      if (inc === undefined || !inc.alive || without.has(inc.node)) continue;
      // A joiner named in the view that has not installed it yet may never do so (its view frame
      // can be lost with a crashed coordinator): the protocol counts it, so it cannot be relied on.
      if (inc.app.status === 'minority' || inc.app.status === 'joining' || inc.app.leaving) continue;
      counts.set(block(inc.node), (counts.get(block(inc.node)) ?? 0) + 1);
      if (inc.app.status === 'member' && !inc.app.awaitingState) holders.add(block(inc.node));
    }
    const best = [...counts].find(([, count]) => count * 2 > view.members.length);
    if (best === undefined || !holders.has(best[0])) return false;
  }
  return true;
}

/**
 * Would some member that is still joining be left without a live contact it can reach, if
 * `without` stopped and the network were split as `blockOf` says? It would hear nobody and, as
 * the contract says, found a second group: a real app would have asked its rendezvous for
 * fresh contacts, so the fault schedule does not strand joiners.
 */
export function strandsJoiner(
  cluster: Cluster,
  without: ReadonlySet<SimNode>,
  blockOf?: (node: SimNode) => number,
): boolean {
  const block = blockOf ?? ((node: SimNode) => cluster.network.blockOfNode(node.index));
  for (const inc of cluster.allIncarnations()) {
    if (!inc.alive || inc.app.status !== 'joining' || without.has(inc.node)) continue;
    const reachable = inc.contacts.some((id) => {
      const contact = cluster.incarnation(id);
      return contact?.alive === true && !without.has(contact.node) && block(contact.node) === block(inc.node);
    });
    if (!reachable && cluster.maxViewId > 0) return true;
  }
  return false;
}

/** The block holding the most working members of the latest view. */
export function primaryBlock(cluster: Cluster, blockOf?: (node: SimNode) => number): number {
  const block = blockOf ?? ((node: SimNode) => cluster.network.blockOfNode(node.index));
  const counts = new Map<number, number>();
  for (const id of latestViews(cluster)[0]?.members ?? []) {
    const inc = cluster.incarnation(id);
    if (inc?.alive) counts.set(block(inc.node), (counts.get(block(inc.node)) ?? 0) + 1);
  }
  let best = 0;
  let bestCount = -1;
  for (const [candidate, count] of counts) {
    if (count > bestCount || (count === bestCount && candidate < best)) [best, bestCount] = [candidate, count];
  }
  return best;
}

/** Whether every node that should be up is in one and the same view with nothing left to do. */
export function convergence(cluster: Cluster): { converged: boolean; note: string } {
  const expected = cluster.nodes.filter((node) => node.wantsUp);
  const not = (note: string) => ({ converged: false, note });
  for (const node of expected) {
    const inc = node.current;
    if (inc === undefined || !inc.alive) return not(`node ${node.index} is not running yet`);
    if (inc.app.status !== 'member') return not(`${inc.id} is ${inc.app.status}`);
  }
  for (const inc of cluster.allIncarnations()) {
    if (inc.alive && !inc.node.wantsUp) return not(`${inc.id} is still running (${inc.app.status})`);
  }
  const members = expected.map((node) => (node.current as Incarnation).id).sort();
  const first = expected[0]?.current;
  if (first === undefined) return not('no node is up');
  const view = first.app.view as View;
  for (const node of expected) {
    const inc = node.current as Incarnation;
    const other = inc.app.view as View;
    if (other.viewId !== view.viewId) return not(`${first.id} is in view ${view.viewId}, ${inc.id} in ${other.viewId}`);
    if (inc.app.unsentCount() > 0) return not(`${inc.id} has ${inc.app.unsentCount()} unsent messages`);
  }
  if ([...view.members].sort().join() !== members.join()) {
    return not(`view ${view.viewId} is [${view.members.join(',')}], the live members are [${members.join(',')}]`);
  }
  for (const node of expected) {
    const sender = node.current as Incarnation;
    for (const record of sender.app.history.sent) {
      if (record.id === undefined || viewIdOfMessage(record.id) !== view.viewId) continue;
      for (const other of expected) {
        const receiver = other.current as Incarnation;
        if (!receiver.app.delivered.has(record.id)) return not(`${receiver.id} has not delivered ${record.id}`);
      }
    }
  }
  return { converged: true, note: `view ${view.viewId} of ${members.length} members` };
}
