/**
 * The safety checker of the distributed snapshot, for a bank app: members pass money by fbcast
 * ('PAY' { id, to, amount }); a member's state records its balance, the ids of the payments it
 * sent (deducted at the send) and of every payment it delivered (credited if addressed to it).
 *
 * A cut is consistent when, among the cut's members:
 * - no payment is delivered in a state whose send is not in the sender's state (no effect before
 *   its cause);
 * - each channel X→Y holds exactly the payments X's state sent and Y's state has not delivered
 *   (nothing in flight is missed or invented), in send order;
 * - with no crash, the balances plus the payments in flight to their payee sum to the money
 *   created (conservation).
 */
import type { SnapshotCut } from '../src/snapshot.js';

export type Payment = {
  /** `<sender's member id>-<number>` */
  readonly id: string;
  readonly to: string;
  readonly amount: number;
};

export interface BankState {
  readonly balance: number;
  /** In send order. */
  readonly sent: readonly Payment[];
  readonly delivered: readonly string[];
}

const decoder = new TextDecoder();
export const decodeBank = (bytes: Uint8Array): BankState => JSON.parse(decoder.decode(bytes)) as BankState;

export const senderOf = (paymentId: string): string => paymentId.slice(0, paymentId.lastIndexOf('-'));

/** Returns the violations found (empty when the cut is consistent). */
export function checkCut(cut: Pick<SnapshotCut, 'members' | 'states' | 'channels'>, options: { total?: number } = {}): string[] {
  const violations: string[] = [];
  const states = new Map([...cut.states].map(([member, bytes]) => [member, decodeBank(bytes)]));
  const sentIds = new Map([...states].map(([member, state]) => [member, new Set(state.sent.map((p) => p.id))]));
  for (const [member, state] of states) {
    for (const id of state.delivered) {
      const sender = senderOf(id);
      const sent = sentIds.get(sender);
      if (sent && !sent.has(id)) violations.push(`${member} delivered ${id}, which ${sender}'s state has not sent`);
    }
  }
  const recorded = new Map<string, string[]>();
  let inFlight = 0; // what the cut says is in flight to its payee
  for (const channel of cut.channels) {
    const payments = channel.messages.map((m) => m.data as Payment);
    recorded.set(`${channel.from}>${channel.to}`, payments.map((p) => p.id));
    for (const payment of payments) if (payment.to === channel.to) inFlight += payment.amount;
  }
  for (const [from, fromState] of states) {
    for (const [to, toState] of states) {
      const delivered = new Set(toState.delivered);
      const expected = fromState.sent.filter((p) => !delivered.has(p.id));
      const got = recorded.get(`${from}>${to}`) ?? [];
      if (expected.map((p) => p.id).join() !== got.join()) {
        violations.push(`channel ${from}>${to}: in flight [${expected.map((p) => p.id).join(' ')}], recorded [${got.join(' ')}]`);
      }
    }
  }
  if (options.total !== undefined) {
    const balances = [...states.values()].reduce((sum, state) => sum + state.balance, 0);
    if (balances + inFlight !== options.total) {
      violations.push(`money not conserved: balances ${balances} + in flight ${inFlight} = ${balances + inFlight}, not ${options.total}`);
    }
  }
  return violations;
}
