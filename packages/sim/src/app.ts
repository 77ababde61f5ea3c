/**
 * The simulated application of one member incarnation: it processes upcalls in order, keeps the
 * replicated state (a digest of what it delivered), composes workload messages, and records the
 * history the checkers read. It never calls the member itself: it tells the driver what to do.
 */
import type { MemberId, Order, Upcall, View } from '@synod/core';
import { AppState } from './app-state.js';
import type { MemberHistory, SentRecord } from './history.js';
import { newHistory } from './history.js';
import { decodePayload, encodePayload } from './payload.js';

export interface PendingMessage {
  readonly appSeq: number;
  readonly order: Order;
  readonly payload: Uint8Array;
}

export type AppStatus = 'joining' | 'member' | 'minority' | 'gone';

/** What the driver must do after the app processed an upcall. */
export type AppAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'viewInstalled'; readonly view: View }
  | { readonly kind: 'provideState'; readonly xferId: string; readonly snapshot: Uint8Array }
  | { readonly kind: 'blocked' }
  | { readonly kind: 'retire'; readonly fate: 'excluded' | 'left' }
  | { readonly kind: 'error'; readonly message: string };

const NONE: AppAction = { kind: 'none' };

export class SimApp {
  readonly history: MemberHistory;
  state = new AppState();
  status: AppStatus = 'joining';
  /** The app called leave(): it sends nothing more. */
  leaving = false;
  /** Joined an existing group and has not loaded its state yet. */
  awaitingState = false;
  view: View | undefined;
  /** Composed messages not yet accepted by send(), oldest first (kept in order across retries). */
  readonly pending: PendingMessage[] = [];
  /** Accepted by send(), awaiting their 'sent' upcall, by local id. */
  readonly unsent = new Map<number, SentRecord>();
  readonly delivered = new Set<string>();
  private nextAppSeq = 1;

  constructor(
    readonly member: MemberId,
    node: number,
    group: string,
    private readonly statePaddingBytes: number,
  ) {
    this.history = newHistory(member, node, group);
  }

  compose(order: Order, sizeBytes: number): void {
    const appSeq = this.nextAppSeq++;
    this.pending.push({ appSeq, order, payload: encodePayload({ origin: this.member, appSeq, order, sizeBytes }) });
  }

  /** The member accepted the oldest pending message under `localId`. */
  accepted(localId: number, nowMs: number): AppAction {
    const message = this.pending.shift();
    if (message === undefined) return { kind: 'error', message: `${this.member}: accepted with nothing pending` };
    const record: SentRecord = {
      appSeq: message.appSeq,
      order: message.order,
      sizeBytes: message.payload.length,
      localId,
      acceptedAtMs: nowMs,
      eventsBefore: this.history.events.length,
    };
    this.history.sent.push(record);
    if (this.unsent.has(localId)) return { kind: 'error', message: `${this.member}: send() reused local id ${localId}` };
    this.unsent.set(localId, record);
    return NONE;
  }

  apply(upcall: Upcall, atMs: number): AppAction {
    const events = this.history.events;
    switch (upcall.type) {
      case 'view':
        events.push({
          t: 'view',
          atMs,
          viewId: upcall.view.viewId,
          members: [...upcall.view.members],
          joined: [...upcall.joined],
          left: [...upcall.left],
          state: this.state.digest(),
        });
        // Founders start the group (view 1); anyone else entering a group waits for its state.
        if (this.view === undefined) this.awaitingState = upcall.view.viewId > 1 && upcall.view.members.length > 1;
        this.view = upcall.view;
        this.status = 'member';
        return { kind: 'viewInstalled', view: upcall.view };
      case 'deliver': {
        const decoded = decodePayload(upcall.payload);
        this.state.apply(upcall.id);
        this.delivered.add(upcall.id);
        // The core leaves minority silently when it hears a majority again; deliveries show it.
        if (this.status === 'minority') this.status = 'member';
        events.push({
          t: 'deliver',
          atMs,
          viewId: upcall.viewId,
          sender: upcall.sender,
          order: upcall.order,
          id: upcall.id,
          integrity: decoded.ok ? 'ok' : decoded.error,
          ...(decoded.ok ? { origin: decoded.origin, appSeq: decoded.appSeq, payloadOrder: decoded.order } : {}),
        });
        return NONE;
      }
      case 'saveState':
        return { kind: 'provideState', xferId: upcall.xferId, snapshot: this.state.encode(this.statePaddingBytes) };
      case 'loadState': {
        const decoded = AppState.decode(upcall.state);
        if ('state' in decoded) this.state = decoded.state;
        this.awaitingState = false;
        events.push({
          t: 'loadState',
          atMs,
          state: 'state' in decoded ? decoded.state.digest() : '(corrupt)',
          integrity: 'state' in decoded ? 'ok' : decoded.error,
        });
        return NONE;
      }
      case 'block':
        events.push({ t: 'block', atMs });
        return { kind: 'blocked' };
      case 'sent': {
        events.push({ t: 'sent', atMs, localId: upcall.localId, id: upcall.id });
        const record = this.unsent.get(upcall.localId);
        if (record === undefined) {
          return { kind: 'error', message: `${this.member}: 'sent' for unknown local id ${upcall.localId} (${upcall.id})` };
        }
        record.id = upcall.id;
        this.unsent.delete(upcall.localId);
        return NONE;
      }
      case 'minority':
        events.push({ t: 'minority', atMs, viewId: upcall.view.viewId });
        this.status = 'minority';
        return NONE;
      case 'majority':
        events.push({ t: 'majority', atMs, viewId: upcall.view.viewId });
        if (this.status === 'minority') this.status = 'member';
        return NONE;
      case 'majority':
        this.status = 'member';
        return NONE;
      case 'excluded':
        events.push({ t: 'excluded', atMs, reason: upcall.reason });
        return { kind: 'retire', fate: 'excluded' };
      case 'left':
        events.push({ t: 'left', atMs, cutOff: upcall.cutOff });
        return { kind: 'retire', fate: 'left' };
      default: {
        // An upcall this app does not know (a newer core): ignored, and said so.
        const unknown: { type?: unknown } = upcall;
        return { kind: 'error', message: `${this.member}: unknown upcall '${String(unknown.type)}'` };
      }
    }
  }

  /** Messages composed or accepted that have not left the member's send queue. */
  unsentCount(): number {
    return this.pending.length + this.unsent.size;
  }
}
