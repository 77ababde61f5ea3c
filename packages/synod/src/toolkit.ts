// The toolkit (leader, token, locks, replicated data, RPC, checkpoints, primary-backup, load
// balancing, snapshots): `import { createLocks } from 'synod/toolkit'`.
export * from '@synod/toolkit';
