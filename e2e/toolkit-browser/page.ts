// The toolkit test page (bundled for the browser by e2e/toolkit-browser.test.ts): a tools member whose
// checkpoint lives in IndexedDB (openStorage picks it under the browser condition). Critical sections
// are reported through synodReport, a function the test runner exposes to the page.
import { createPeer } from '@synod/peer';
import { openStorage } from '@synod/storage';
import { webrtc } from '@synod/transport-webrtc';
import { startToolsMember, type ReportEvent, type ToolsMember } from './harness.js';

declare const synodReport: (event: ReportEvent) => Promise<void>;

let member: ToolsMember | undefined;
(globalThis as { toolsTest?: unknown }).toolsTest = {
  async start(signaling: string, room: string) {
    const peer = await createPeer({ transport: webrtc({ signaling, room }), trace: false });
    member = await startToolsMember(peer, await openStorage('toolkit-e2e'), 'page', (event) => synodReport(event));
  },
  call: (method: string, args: unknown[]) => member!.call(method, args),
};
document.title = 'tools-ready';
