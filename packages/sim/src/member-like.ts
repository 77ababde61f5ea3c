import type { MemberConfig, MemberId, MemberStats, Order, Output, View } from '@synod/core';

/** The part of core's Member the simulator drives; a test may substitute a fake. */
export interface MemberLike {
  readonly view: View | undefined;
  /** The next view it accepted in a flush, which may be installed at any moment (optional). */
  readonly acceptedView?: { readonly viewId: number; readonly members: readonly MemberId[] } | undefined;
  readonly stats: MemberStats;
  join(contacts: readonly MemberId[], nowMs: number): void;
  /** Replaces the peers a joiner asks (optional: the runner refreshes them when it can). */
  updateContacts?(contacts: readonly MemberId[], nowMs: number): void;
  send(order: Order, payload: Uint8Array, nowMs: number): number;
  leave(nowMs: number): void;
  receive(from: MemberId, bytes: Uint8Array, nowMs: number): void;
  linkDown(peer: MemberId, nowMs: number): void;
  tick(nowMs: number): void;
  provideState(xferId: string, state: Uint8Array, nowMs: number): void;
  takeOutput(): Output;
  bufferedBytes(): number;
}

export type MemberFactory = (config: MemberConfig) => MemberLike;

/** Timing and sizing options handed to every member (everything but identity and randomness). */
export type MemberTiming = Omit<MemberConfig, 'self' | 'group' | 'random'>;
