/**
 * The frame pool through the whole runtime (core frames.ts): the memory hub's copies, the core's
 * references and the envelope's copies come back, so the slabs are used again, in open and keyed
 * groups alike, and nothing delivered is corrupted. As in production: without the pool's checks
 * (cluster.ts turns them on for the other suites).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { framePoolStats, setFramePoolChecks } from '@synod/core';
import { cluster, waitFor } from './cluster.js';

const KEY = 'k7Q2 a group secret of enough entropy 9f3a';
const PER_MEMBER = 4000;

describe('the frame pool in a running group', () => {
  for (const flavour of ['an open group', 'a keyed group'] as const) {
    it(`${flavour}: slabs are used again, and every message arrives intact and in order`, async () => {
      setFramePoolChecks(false);
      const c = await cluster(3, { join: () => (flavour === 'a keyed group' ? { key: KEY } : {}) });
      try {
        const got = c.groups.map(() => new Map<number, number[]>());
        c.groups.forEach((group, i) =>
          group.handle<Uint8Array>('F', (msg) => {
            const fill = msg.data[1]!;
            assert.ok(msg.data.length === 1000 && msg.data.every((byte, at) => byte === (at === 0 ? msg.data[0] : fill)), 'intact');
            const from = got[i]!.get(msg.data[0]!) ?? [];
            from.push(fill);
            got[i]!.set(msg.data[0]!, from);
          }),
        );
        const before = framePoolStats();
        await Promise.all(
          c.groups.map(async (group, sender) => {
            const window: Promise<unknown>[] = [];
            for (let n = 0; n < PER_MEMBER; n++) {
              const bytes = new Uint8Array(1000).fill(n % 251);
              bytes[0] = sender;
              window.push(group.abcast('F', bytes));
              if (window.length === 64) await Promise.all(window.splice(0));
            }
            await Promise.all(window);
          }),
        );
        await waitFor(() => got.every((bySender) => [0, 1, 2].every((s) => (bySender.get(s)?.length ?? 0) === PER_MEMBER)), 'every delivery', 20_000);
        for (const bySender of got) {
          for (const s of [0, 1, 2]) assert.deepEqual(bySender.get(s), Array.from({ length: PER_MEMBER }, (_, n) => n % 251));
        }
        const after = framePoolStats();
        const allocated = after.slabsAllocated - before.slabsAllocated;
        const recycled = after.slabsRecycled - before.slabsRecycled;
        assert.ok(recycled > 2 * allocated, `slabs used again (${recycled}) against slabs allocated (${allocated})`);
      } finally {
        await c.close();
        setFramePoolChecks(true);
      }
    });
  }
});
