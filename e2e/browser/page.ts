// The test page's script (bundled for the browser by e2e/browser.test.ts): exposes the harness.
import { startMember } from '../webrtc/harness.js';

(globalThis as { synodTest?: unknown }).synodTest = { startMember, members: [] };
document.title = 'synod-ready';
