import type { MemberConfig, MemberId, MemberStats, Order, Output, View } from './api.js';

/** One member of one group: the whole protocol stack as a pure state machine. (Being written.) */
export class Member {
  readonly self: MemberId;
  readonly stats: MemberStats = {
    droppedMalformed: 0,
    droppedNonMember: 0,
    droppedStale: 0,
    retransmitsSent: 0,
    naksSent: 0,
    viewChanges: 0,
  };
  constructor(readonly config: MemberConfig) {
    this.self = config.self;
  }
  get view(): View | undefined {
    return undefined;
  }
  join(_contacts: readonly MemberId[], _nowMs: number): void {
    throw new Error('not implemented yet');
  }
  send(_order: Order, _payload: Uint8Array, _nowMs: number): number {
    throw new Error('not implemented yet');
  }
  leave(_nowMs: number): void {}
  receive(_from: MemberId, _bytes: Uint8Array, _nowMs: number): void {}
  linkDown(_peer: MemberId, _nowMs: number): void {}
  tick(_nowMs: number): void {}
  provideState(_xferId: string, _state: Uint8Array, _nowMs: number): void {}
  takeOutput(): Output {
    return { sends: [], upcalls: [], wakeAtMs: undefined };
  }
  bufferedBytes(): number {
    return 0;
  }
}
