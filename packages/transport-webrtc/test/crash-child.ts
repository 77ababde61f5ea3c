// A peer for mesh.test.ts to kill: joins the room, says 'up' once linked, then waits for SIGKILL.
import { webrtc } from '../src/index.js';

const [signaling, room, rtc] = process.argv.slice(2);
const transport = webrtc({ signaling: signaling!, room: room!, rtc: rtc! });
await transport.start();
while (transport.peers().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
process.send!('up');
setTimeout(() => process.exit(3), 30_000); // never outlive the test
