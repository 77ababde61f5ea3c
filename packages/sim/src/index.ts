export { runSimulation, type RunOptions, type RunResult, type RunStats } from './run.js';
export { scenarioFor, simTiming, type Scenario, type FaultProfile, type Flavour } from './scenario.js';
export {
  checkAll,
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
  checkQuiescence,
  type Violation,
  type FinalState,
} from './checkers.js';
export { traceRecords, type MemberHistory, type HistoryEvent, type SentRecord } from './history.js';
export { Prng } from './prng.js';
export { Network, type NetworkKnobs } from './network.js';
export type { MemberLike, MemberFactory } from './member-like.js';
