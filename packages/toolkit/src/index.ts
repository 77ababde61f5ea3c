/**
 * The toolkit: coordination tools built on the public Group API, as Isis built its tools on
 * process groups. Each tool is made from a group inside JoinOptions.setup, so that its handlers
 * and its part of the state transfer exist before the first upcall.
 */
export * from './leader.js';
export * from './token.js';
export * from './locks.js';
export * from './balance.js';
export * from './replicated.js';
export * from './rpc.js';
export * from './checkpoint.js';
export * from './primary-backup.js';
export * from './snapshot.js';
