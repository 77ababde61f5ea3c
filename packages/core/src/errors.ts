/** Local misuse of the API. Remote protocol violations are never thrown: they are dropped and counted. */
export type SynodErrorCode =
  | 'NOT_JOINED'
  | 'ALREADY_JOINED'
  | 'MESSAGE_TOO_LARGE'
  | 'BACKPRESSURE'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_XFER'
  | 'TIMEOUT'
  | 'NO_HANDLER'
  | 'CLOSED'
  | 'MINORITY'
  | 'EXCLUDED'
  | 'VIEW_CHANGED'
  /** A shared-memory page was read or written without a lock on it (or after the lock was released or lost). */
  | 'NOT_LOCKED'
  | 'TRANSPORT';

export class SynodError extends Error {
  override readonly name = 'SynodError';
  constructor(
    readonly code: SynodErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A broken internal invariant: a bug in Synod, never the app's or the network's fault. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}
