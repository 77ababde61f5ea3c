/**
 * One member of the objects e2e test, the same code in a Chromium page (page.ts) and in a Node
 * process (member.ts): a WebRTC peer in group 'objects' mapping region 'board' (4 pages of 256
 * bytes, release consistency) persisted in `storage` (IndexedDB in the page, files in Node). A
 * section adds to the counter of a page and writes who did it, under the page's write lock.
 */
import { createPeer, type Group } from '@synod/peer';
import type { Storage } from '@synod/storage';
import { webrtc } from '@synod/transport-webrtc';
import { map, type Region } from '../../packages/objects/src/index.js';

export const REGION = { pages: 4, pageSize: 256 } as const;
const TIMING = { heartbeatMs: 100, suspectAfterMs: 2000, discoveryMs: 200 } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface RegionState {
  readonly counters: number[];
  readonly versions: number[];
  readonly writers: string[];
  readonly viewSize: number;
}

export interface RegionMember {
  /** `count` sections, one after another, each adding 1 to the counter of `page`. */
  increment(page: number, count: number, who: string): Promise<void>;
  state(): RegionState;
  close(): Promise<void>;
}

/** The region as stored: counters and versions of every page (what a reloaded page starts from). */
export function decodePage(bytes: Uint8Array): { counter: number; writer: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint8(4);
  return { counter: view.getUint32(0), writer: decoder.decode(bytes.subarray(5, 5 + length)) };
}

export async function startRegionMember(signaling: string, room: string, storage: Storage): Promise<RegionMember> {
  const peer = await createPeer({ transport: webrtc({ signaling, room }), trace: false });
  let region!: Region;
  let group: Group;
  try {
    group = await peer.join('objects', { ...TIMING, setup: (g) => (region = map(g, 'board', { ...REGION, consistency: 'release', storage })) });
  } catch (error) {
    await peer.close({ leave: false });
    throw error;
  }
  await region.ready;
  return {
    async increment(page, count, who) {
      for (let i = 0; i < count; i++) {
        await region.withLock(page, 'write', (section) => {
          const view = section.page(page);
          view.setUint32(0, view.getUint32(0) + 1);
          const name = encoder.encode(who);
          view.setUint8(4, name.length);
          view.write(5, name);
        });
      }
    },
    state: () => {
      const pages = Array.from({ length: REGION.pages }, (_, page) => decodePage(region.read(page)));
      return {
        counters: pages.map((page) => page.counter),
        writers: pages.map((page) => page.writer),
        versions: Array.from({ length: REGION.pages }, (_, page) => region.version(page)),
        viewSize: group.view?.members.length ?? 0,
      };
    },
    close: () => peer.close(),
  };
}
