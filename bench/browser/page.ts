// The bench page's script (bundled for the browser by webrtc-browser.bench.ts).
import { createSide } from './side.js';

(globalThis as { benchSide?: unknown }).benchSide = createSide();
document.title = 'bench-ready';
