/** Delivery: virtual synchrony, safe (uniform) delivery, no loss, no duplicates, payload integrity. */
import type { MemberHistory } from '../history.js';
import { viewIdOfMessage } from '../history.js';
import { indexOf, Report, sample, type Violation } from './report.js';

/** Members that install both V and V+1 delivered the same set of messages in V. */
export function checkVirtualSynchrony(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('virtual-synchrony');
  const index = indexOf(histories);
  for (const { viewId, members } of index.survivors.values()) {
    const sets = members.map((m) => index.deliveredIn.get(m)?.get(viewId) ?? new Set<string>());
    const union = new Set<string>();
    for (const set of sets) for (const id of set) union.add(id);
    members.forEach((member, i) => {
      const missing = [...union].filter((id) => !(sets[i] as Set<string>).has(id));
      if (missing.length === 0) return;
      const holders = members.filter((_, j) => (sets[j] as Set<string>).has(missing[0] as string));
      report.add(
        `view ${viewId}→${viewId + 1}: ${member} did not deliver ${sample(missing)} in view ${viewId}, ` +
          `which ${sample(holders)} delivered`,
      );
    });
  }
  return report.done();
}

/** Dynamic uniformity: if any member delivered safe message m in view V, every member that went
 *  from V to V+1 delivered m in V (even if the deliverer then crashed). */
export function checkSafe(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('safe');
  const index = indexOf(histories);
  const reported = new Set<string>();
  for (const history of histories) {
    for (const event of history.events) {
      if (event.t !== 'deliver' || event.order !== 'safe' || reported.has(event.id)) continue;
      const key = index.viewKey.get(history.member)?.get(event.viewId) ?? '';
      for (const survivor of index.survivors.get(key)?.members ?? []) {
        if (index.deliveredIn.get(survivor)?.get(event.viewId)?.has(event.id)) continue;
        reported.add(event.id);
        report.add(
          `${history.member} delivered safe ${event.id} in view ${event.viewId}, but ${survivor} ` +
            `went on to view ${event.viewId + 1} without delivering it`,
        );
      }
    }
  }
  return report.done();
}

/** A message sent in view V by a member that went on to V+1 is delivered in V by every member
 *  that went from V to V+1. (A member that left is not held to this: its 'left' may follow an
 *  exclusion while it was leaving, which loses its last messages like a crash does.) */
export function checkNoLoss(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('no-loss');
  const index = indexOf(histories);
  for (const sender of histories) {
    for (const record of sender.sent) {
      if (record.id === undefined) continue;
      const viewId = viewIdOfMessage(record.id);
      if (viewId === undefined) continue;
      const survivors = index.survivors.get(index.viewKey.get(sender.member)?.get(viewId) ?? '')?.members ?? [];
      if (!survivors.includes(sender.member)) continue;
      for (const receiver of survivors) {
        if (index.deliveredIn.get(receiver)?.get(viewId)?.has(record.id)) continue;
        report.add(
          `${receiver} went from view ${viewId} to ${viewId + 1} without delivering ${record.id}, sent by ` +
            `${sender.member} which also reached view ${viewId + 1}`,
        );
      }
    }
  }
  return report.done();
}

/** No member delivers a message id twice, nor the same application message under two ids. */
export function checkNoDuplicates(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('no-duplicates');
  for (const history of histories) {
    const ids = new Set<string>();
    const origins = new Map<string, string>();
    for (const event of history.events) {
      if (event.t !== 'deliver') continue;
      if (ids.has(event.id)) report.add(`${history.member} delivered ${event.id} twice`);
      ids.add(event.id);
      if (event.origin === undefined || event.appSeq === undefined) continue;
      const key = `${event.origin}#${event.appSeq}`;
      const earlier = origins.get(key);
      if (earlier !== undefined && earlier !== event.id) {
        report.add(`${history.member} delivered ${event.origin}'s message #${event.appSeq} as ${earlier} and ${event.id}`);
      }
      origins.set(key, event.id);
    }
  }
  return report.done();
}

/** Every delivered payload is intact, is what its sender sent under that id and order. */
export function checkIntegrity(histories: readonly MemberHistory[]): Violation[] {
  const report = new Report('integrity');
  const index = indexOf(histories);
  for (const history of histories) {
    for (const event of history.events) {
      if (event.t === 'loadState' && event.integrity !== 'ok') {
        report.add(`${history.member} loaded a corrupt state: ${event.integrity}`);
      }
      if (event.t !== 'deliver') continue;
      const where = `${history.member} delivered ${event.id}`;
      if (event.integrity !== 'ok') {
        report.add(`${where} with a corrupt payload: ${event.integrity}`);
        continue;
      }
      if (event.origin !== event.sender) report.add(`${where} from ${event.sender}, but the payload is ${event.origin}'s`);
      if (event.payloadOrder !== event.order) {
        report.add(`${where} as ${event.order}, but it was sent as ${event.payloadOrder}`);
      }
      const sent = index.sentByOrigin.get(`${event.origin}#${event.appSeq}`);
      if (sent === undefined) {
        if (index.byMember.has(event.origin ?? '')) report.add(`${where}: its sender never sent #${event.appSeq}`);
        continue;
      }
      if (sent.record.id !== undefined && sent.record.id !== event.id) {
        report.add(`${where}, but ${event.origin}'s #${event.appSeq} was sent as ${sent.record.id}`);
      } else if (sent.record.id === undefined && sent.history.fate === 'live') {
        report.add(`${where}, but its sender never reported it 'sent'`);
      }
    }
  }
  return report.done();
}
