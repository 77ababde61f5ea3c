/**
 * The safety checker of primary-backup, over a history recorded in (virtual) time. The service
 * under test keeps the log of the request ids it applied, and answers each request with the log's
 * length after it: so a state says exactly which requests took effect, and how many times.
 *
 * - ack: a client's request resolved, with its response;
 * - takeover: a member became primary, with its service state at that moment;
 * - final: a member's state after quiescence.
 *
 * Properties: no acknowledged request lost (every ack before a takeover is in the new primary's
 * state; every ack is in every final state, at the position its response names); no request
 * executed twice (no id twice in any state); the final states of all members are identical.
 */
export type PrimaryBackupEvent =
  | { readonly atMs: number; readonly member: string; readonly type: 'ack'; readonly id: string; readonly response: number }
  | { readonly atMs: number; readonly member: string; readonly type: 'takeover'; readonly log: readonly string[] }
  | { readonly atMs: number; readonly member: string; readonly type: 'final'; readonly log: readonly string[] };

/** Returns the violations found (empty when the history is safe). */
export function checkPrimaryBackup(history: readonly PrimaryBackupEvent[]): string[] {
  const violations: string[] = [];
  const acks = history.filter((event) => event.type === 'ack');
  const states = history.filter((event) => event.type !== 'ack');
  for (const state of states) {
    const seen = new Set<string>();
    for (const id of state.log) {
      if (seen.has(id)) violations.push(`${state.type} of ${state.member} at ${state.atMs}: ${id} executed twice`);
      seen.add(id);
    }
  }
  const ackedIds = new Set<string>();
  for (const ack of acks) {
    if (ackedIds.has(ack.id)) violations.push(`${ack.id} acknowledged twice`);
    ackedIds.add(ack.id);
  }
  for (const takeover of states.filter((state) => state.type === 'takeover')) {
    const log = new Set(takeover.log);
    for (const ack of acks) {
      if (ack.atMs < takeover.atMs && !log.has(ack.id)) {
        violations.push(`${ack.id} acknowledged at ${ack.atMs} is lost: not in the state of ${takeover.member}, primary at ${takeover.atMs}`);
      }
    }
  }
  const finals = states.filter((state) => state.type === 'final');
  const reference = finals[0];
  for (const final of finals) {
    if (reference && final.log.join() !== reference.log.join()) {
      violations.push(`final states differ: ${final.member} has ${final.log.length} entries, ${reference.member} ${reference.log.length}`);
    }
    const position = new Map(final.log.map((id, index) => [id, index + 1]));
    for (const ack of acks) {
      const at = position.get(ack.id);
      if (at === undefined) violations.push(`${ack.id} acknowledged at ${ack.atMs} is missing from the final state of ${final.member}`);
      else if (at !== ack.response) violations.push(`${ack.id} was answered ${ack.response} but took effect at ${at} (${final.member})`);
    }
  }
  return violations;
}
