import assert from 'node:assert/strict';
import { createHub, memory, type Hub } from '@synod/transport-memory';
import { setFramePoolChecks } from '@synod/core';
import { createPeer, type Group, type JoinOptions, type Peer } from '../src/index.js';

// A frame read after the core gave it back reads junk, and a release too many throws (core frames.ts).
setFramePoolChecks(true);

/**
 * Short timings so failures are detected within a test's patience, with slack for a loaded CI
 * machine: a joiner that hears no discovery reply within discoveryMs founds a second group of the
 * same name (the core does not merge groups), and a stalled event loop beyond suspectAfterMs
 * excludes a member.
 */
export const timing = {
  heartbeatMs: 20,
  suspectAfterMs: 500,
  retransmitMs: 10,
  discoveryMs: 150,
  flushTimeoutMs: 500,
} satisfies JoinOptions;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export interface Cluster {
  readonly hub: Hub;
  readonly peers: Peer[];
  readonly groups: Group[];
  /** Close every peer (crash-style for the ones already killed). */
  close(): Promise<void>;
}

/** `count` peers p0… join `name` one after the other; resolves once every member sees the same full view. */
export async function cluster(count: number, options: { name?: string; join?: (index: number) => JoinOptions } = {}): Promise<Cluster> {
  const hub = createHub();
  const peers: Peer[] = [];
  const groups: Group[] = [];
  const name = options.name ?? 'g';
  const result: Cluster = {
    hub,
    peers,
    groups,
    async close() {
      const live = new Set(hub.live());
      await Promise.all(peers.map((peer) => peer.close(live.has(peer.id) ? { timeoutMs: 500 } : { leave: false })));
    },
  };
  try {
    for (let i = 0; i < count; i++) {
      const peer = await createPeer({ transport: memory({ hub, id: `p${i}` }), trace: false });
      peers.push(peer);
      groups.push(await peer.join(name, { ...timing, ...options.join?.(i) }));
    }
    await agreeOnView(groups, count);
  } catch (error) {
    await result.close();
    throw error;
  }
  return result;
}

/** Waits until the groups all see one view of `size` members, and returns it. */
export async function agreeOnView(groups: readonly Group[], size: number) {
  await waitFor(
    () =>
      groups.every(
        (group) =>
          group.view?.members.length === size &&
          group.view.viewId === groups[0]!.view!.viewId &&
          group.view.members.join() === groups[0]!.view!.members.join(),
      ),
    `${groups.length} members to agree on a view of ${size}`,
  );
  return groups[0]!.view!;
}
