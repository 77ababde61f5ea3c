/**
 * Group RPC with response filters, as Isis's bcast(..., nwant) and Isis2's Query: a call is one
 * multicast in the order asked for, every member's handler answers with what it returns, and the
 * caller gathers the answers until its filter is satisfied:
 *
 * - 'first': one reply; 'majority': a majority of the view that delivered the call; 'all': every
 *   member of it; n: n replies; a predicate: as soon as it returns true for the replies so far.
 * - As in Isis, a call resolves with fewer replies than wanted when no more can come: a replier
 *   that crashes is dropped at the next view, one without a handler (or whose handler throws)
 *   declines. The replies are those of members of the view in which the call was delivered.
 * - `timeoutMs`: rejects with SynodError TIMEOUT when the filter is not satisfied in time.
 *
 * Built on the Group API's gathered replies (SendOptions.replies / until).
 */
import { SynodError } from '@synod/core';
import type { Data, Group, Message, Reply } from '@synod/peer';

export type CallOrder = 'fbcast' | 'cbcast' | 'abcast' | 'safe';
export type ReplyFilter = 'first' | 'majority' | 'all' | number | ((replies: readonly Reply[]) => boolean);

export interface CallOptions {
  /** Default 'abcast': every member serves calls in one order. */
  readonly order?: CallOrder;
  /** Default 'all'. */
  readonly filter?: ReplyFilter;
  readonly timeoutMs?: number;
}

export interface RpcOptions {
  /** Names this RPC instance (its message kinds are `synod.rpc/<name>/<kind>`). Default 'rpc'. */
  readonly name?: string;
}

/** What a handler returns is its reply: a JSON value, a string, a Uint8Array or undefined. */
export type RpcHandler<A = unknown, R extends Data = Data> = (args: A, message: Message<A>) => R | Promise<R>;

export interface RpcStats {
  calls: number;
  served: number;
  /** Handlers that threw or rejected: the caller sees a decline (one reply fewer). */
  handlerErrors: number;
  /** Calls of this RPC's kinds sent without asking for replies (not from an Rpc), served without answering. */
  servedWithoutReply: number;
}

export interface Rpc {
  readonly stats: RpcStats;
  /** Multicasts a call of `kind` and gathers the replies its filter asks for. */
  call<R = unknown>(kind: string, args?: Data, options?: CallOptions): Promise<Reply<R>[]>;
  /** Serves calls of `kind` at this member; returns a function that removes the handler. */
  handle<A = unknown, R extends Data = Data>(kind: string, handler: RpcHandler<A, R>): () => void;
}

const ORDERS = { fbcast: 'fbcast', cbcast: 'cbcast', abcast: 'abcast', safe: 'safe' } as const;

/** Make it inside JoinOptions.setup so its handlers exist before the first delivery. */
export function rpc(group: Group, options: RpcOptions = {}): Rpc {
  if (options === null || typeof options !== 'object') throw new SynodError('INVALID_ARGUMENT', 'rpc: options must be an object');
  const name = options.name ?? 'rpc';
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new SynodError('INVALID_ARGUMENT', 'rpc: name must be 1..200 characters');
  const stats: RpcStats = { calls: 0, served: 0, handlerErrors: 0, servedWithoutReply: 0 };
  const kindOf = (kind: string) => {
    if (typeof kind !== 'string' || kind.length === 0) throw new SynodError('INVALID_ARGUMENT', 'rpc: a call kind must be a non-empty string');
    return `synod.rpc/${name}/${kind}`;
  };

  return {
    stats,
    call<R>(kind: string, args?: Data, callOptions: CallOptions = {}): Promise<Reply<R>[]> {
      if (callOptions === null || typeof callOptions !== 'object') throw new SynodError('INVALID_ARGUMENT', 'rpc: call options must be an object');
      const order = ORDERS[callOptions.order ?? 'abcast'];
      if (!order) throw new SynodError('INVALID_ARGUMENT', `rpc: order must be fbcast, cbcast, abcast or safe, not ${String(callOptions.order)}`);
      const filter = callOptions.filter ?? 'all';
      let send: { replies: 'all' | 'majority' | number; until?: (replies: readonly Reply[]) => boolean };
      if (typeof filter === 'function') send = { replies: 'all', until: filter };
      else if (filter === 'first') send = { replies: 1 };
      else if (filter === 'all' || filter === 'majority' || (typeof filter === 'number' && Number.isInteger(filter) && filter >= 1)) send = { replies: filter };
      else throw new SynodError('INVALID_ARGUMENT', `rpc: filter must be 'first', 'majority', 'all', a positive integer or a predicate, not ${String(filter)}`);
      stats.calls++;
      const timeout = callOptions.timeoutMs === undefined ? {} : { timeoutMs: callOptions.timeoutMs };
      return group[order]<R>(kindOf(kind), args, { ...send, ...timeout });
    },
    handle<A, R extends Data>(kind: string, handler: RpcHandler<A, R>): () => void {
      if (typeof handler !== 'function') throw new SynodError('INVALID_ARGUMENT', 'rpc: a handler must be a function');
      return group.handle<A>(kindOf(kind), async (message) => {
        let result: R;
        try {
          result = await handler(message.data, message);
        } catch (error) {
          stats.handlerErrors++;
          throw error; // the group declines on our behalf and reports the error to the app
        }
        stats.served++;
        if (message.wantsReply) message.reply(result);
        else stats.servedWithoutReply++;
      });
    },
  };
}
