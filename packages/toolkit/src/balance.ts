import { SynodError, type MemberId } from '@synod/core';
import type { Group, ViewChange } from '@synod/peer';

/**
 * Load balancing by rendezvous (highest-random-weight) hashing: a key belongs to the member with
 * the highest hash of (member, key). Every member computes the same owner from the same view, and a
 * view change moves only the keys of departed members (each to its next-highest member) and the
 * keys a joiner now scores highest on (an expected 1/n share each). No state, no messages.
 */
export interface Balancer {
  /** The member that serves `key` in the current view; undefined before the first view. */
  owner(key: string): MemberId | undefined;
  /** The `count` members ranked highest for `key` (the owner first): replicas, fallbacks. */
  owners(key: string, count: number): MemberId[];
  /** Whether this member owns `key`. */
  mine(key: string): boolean;
  /** Called after each view change, once owner() answers for the new view. */
  onRebalance(listener: (view: ViewChange) => void): () => void;
}

export function balancer(group: Group): Balancer {
  const listeners = new Set<(view: ViewChange) => void>();
  group.on('view', (view) => {
    for (const listener of [...listeners]) listener(view);
  });
  const members = (): readonly MemberId[] => group.view?.members ?? [];
  return {
    owner: (key) => rendezvousOwner(members(), key),
    owners: (key, count) => rendezvousRank(members(), key).slice(0, count),
    mine: (key) => rendezvousOwner(members(), key) === group.memberId,
    onRebalance(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The owner of `key` among `members` (any order): the highest score, ties broken by id. */
export function rendezvousOwner(members: readonly MemberId[], key: string): MemberId | undefined {
  checkKey(key);
  let best: MemberId | undefined;
  let bestScore = -1;
  for (const member of members) {
    const score = rendezvousScore(member, key);
    if (score > bestScore || (score === bestScore && best !== undefined && member < best)) {
      best = member;
      bestScore = score;
    }
  }
  return best;
}

/** `members` ordered by score for `key`, highest first. */
export function rendezvousRank(members: readonly MemberId[], key: string): MemberId[] {
  checkKey(key);
  return members
    .map((member) => ({ member, score: rendezvousScore(member, key) }))
    .sort((a, b) => b.score - a.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
    .map((entry) => entry.member);
}

/** A 53-bit deterministic score of (member, key): two salted FNV-1a hashes, each finalized by murmur3's mix. */
export function rendezvousScore(member: MemberId, key: string): number {
  const text = `${member}\u0000${key}`;
  const high = mix32(fnv1a(text, 0x811c9dc5));
  const low = mix32(fnv1a(text, 0x01000193 ^ 0x9e3779b9));
  return high * 0x200000 + (low >>> 11);
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new SynodError('INVALID_ARGUMENT', `a key must be a string, got ${typeof key}`);
}

function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
