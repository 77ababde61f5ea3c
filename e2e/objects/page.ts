// The objects test page (bundled for the browser by e2e/objects.test.ts): a region member whose
// region persists in IndexedDB, and a reader of what IndexedDB holds before the page joins.
import { openStorage } from '@synod/storage';
import { REGION, decodePage, startRegionMember, type RegionMember } from './harness.js';

let member: RegionMember | undefined;
(globalThis as { objectsTest?: unknown }).objectsTest = {
  async start(signaling: string, room: string) {
    member = await startRegionMember(signaling, room, await openStorage('objects-e2e'));
  },
  increment: (page: number, count: number, who: string) => member!.increment(page, count, who),
  state: () => member!.state(),
  /** Counters as IndexedDB holds them now (undefined for a page never stored). */
  async stored() {
    const storage = await openStorage('objects-e2e');
    const counters: (number | undefined)[] = [];
    for (let page = 0; page < REGION.pages; page++) {
      const bytes = await storage.get(`synod.objects/objects/board/page/${page}`);
      counters.push(bytes ? decodePage(bytes.subarray(4)).counter : undefined);
    }
    await storage.close();
    return counters;
  },
};
document.title = 'objects-ready';
