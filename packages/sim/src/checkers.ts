/**
 * Checkers: pure functions from recorded member histories to violations. Each one states one
 * guarantee of virtual synchrony; checkers.test.ts proves each can fail.
 */
import type { MemberHistory } from './history.js';
import { checkIntegrity, checkNoDuplicates, checkNoLoss, checkSafe, checkVirtualSynchrony } from './checks/delivery.js';
import { checkStateTransfer, checkViewAgreement } from './checks/membership.js';
import { checkCausal, checkFifo, checkTotalOrder } from './checks/order.js';
import { checkQuiescence, type FinalState } from './checks/quiescence.js';
import type { Violation } from './checks/report.js';

export type { Violation } from './checks/report.js';
export type { FinalState } from './checks/quiescence.js';
export {
  checkCausal,
  checkFifo,
  checkIntegrity,
  checkNoDuplicates,
  checkNoLoss,
  checkQuiescence,
  checkSafe,
  checkStateTransfer,
  checkTotalOrder,
  checkViewAgreement,
  checkVirtualSynchrony,
};

export const safetyCheckers: readonly ((histories: readonly MemberHistory[]) => Violation[])[] = [
  checkViewAgreement,
  checkVirtualSynchrony,
  checkFifo,
  checkCausal,
  checkTotalOrder,
  checkSafe,
  checkNoDuplicates,
  checkNoLoss,
  checkIntegrity,
  checkStateTransfer,
];

export function checkAll(histories: readonly MemberHistory[], final?: FinalState): Violation[] {
  const violations = safetyCheckers.flatMap((check) => check(histories));
  if (final !== undefined) violations.push(...checkQuiescence(histories, final));
  return violations;
}
