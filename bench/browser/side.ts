/**
 * One side of webrtc-browser.bench.ts, the same code in a Chromium page (bundled, native
 * RTCPeerConnection) and in the Node process (node-datachannel), both through the `synod` package:
 * a raw WebRTC transport (no group protocol) for the baselines, then a group of the two sides.
 * Every method returns plain data, so the page's copy can be driven through page.evaluate().
 */
import { createPeer, webrtc, type Group, type Peer, type WebRtcTransport } from 'synod';

export type Primitive = 'fbcast' | 'abcast';

export interface Side {
  openRaw(signaling: string, room: string): Promise<void>;
  /** Sends back every frame received. */
  echo(): void;
  /** Round trips of a 64-byte frame to the other side (which echoes), in ms. */
  ping(samples: number): Promise<number[]>;
  /** Counts frames (raw) or deliveries from the other side (group) from zero towards `target`. */
  arm(target: number): void;
  /** Resolves once the armed target is reached. */
  reached(): Promise<void>;
  /** `count` frames of `size` bytes to the other side, paced on the transport's buffered bytes. */
  blast(count: number, size: number): Promise<{ dropped: number }>;
  closeRaw(): Promise<void>;
  join(signaling: string, room: string): Promise<void>;
  viewSize(): number;
  /** This side's group counters: retransmissions, NAKs, frames its transport dropped. */
  groupStats(): { retransmits: number; naks: number; dropped: number };
  /** `count` messages of `size` bytes, at most `window` not yet sent. */
  cast(primitive: Primitive, count: number, size: number, window: number): Promise<void>;
  leave(): Promise<void>;
}

const PACE_BYTES = 1024 * 1024;
const TIMING = { heartbeatMs: 200, suspectAfterMs: 10_000, discoveryMs: 200 } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createSide(): Side {
  let transport: WebRtcTransport | undefined;
  let peer: Peer | undefined;
  let group: Group | undefined;
  let counted = 0;
  let target = Infinity;
  let onTarget: (() => void) | undefined;
  let echoing = false;
  let onFrame: (() => void) | undefined;
  const count = () => {
    if (++counted >= target) onTarget?.();
  };
  const other = () => {
    const [address] = transport!.peers();
    if (address === undefined) throw new Error('no peer');
    return address;
  };

  return {
    async openRaw(signaling, room) {
      transport = webrtc({ signaling, room, maxQueuedBytes: 2 * PACE_BYTES });
      transport.onMessage((from, bytes) => {
        if (echoing) transport!.send(from, bytes);
        onFrame?.();
        count();
      });
      await transport.start();
      while (transport.peers().length < 1) await sleep(10);
    },
    echo() {
      echoing = true;
    },
    async ping(samples) {
      const to = other();
      const payload = new Uint8Array(64);
      const rtts: number[] = [];
      for (let i = 0; i < samples; i++) {
        const startMs = performance.now();
        const back = new Promise<void>((resolve) => (onFrame = resolve));
        transport!.send(to, payload);
        await back;
        rtts.push(performance.now() - startMs);
      }
      onFrame = undefined;
      return rtts;
    },
    arm(value) {
      counted = 0;
      target = value;
    },
    reached() {
      return counted >= target ? Promise.resolve() : new Promise<void>((resolve) => (onTarget = resolve));
    },
    async blast(frames, size) {
      const to = other();
      const payload = new Uint8Array(size);
      const dropped = () => transport!.stats.droppedBackpressure + transport!.stats.droppedUnreachable;
      const droppedBefore = dropped();
      for (let i = 0; i < frames; i++) {
        while (transport!.bufferedBytes(to) > PACE_BYTES) await sleep(1);
        transport!.send(to, payload);
      }
      return { dropped: dropped() - droppedBefore };
    },
    async closeRaw() {
      await transport?.close();
      transport = undefined;
      echoing = false;
    },
    async join(signaling, room) {
      peer = await createPeer({ transport: webrtc({ signaling, room }), trace: false });
      group = await peer.join('bench', TIMING);
      group.handle('B', (message) => {
        if (message.sender !== group!.memberId) count();
      });
    },
    viewSize: () => group?.view?.members.length ?? 0,
    groupStats: () => ({
      retransmits: group?.stats.retransmitsSent ?? 0,
      naks: group?.stats.naksSent ?? 0,
      dropped: (peer?.transport.stats as { droppedBackpressure?: number } | undefined)?.droppedBackpressure ?? 0,
    }),
    async cast(primitive, messages, size, window) {
      const payload = new Uint8Array(size);
      let inFlight = 0;
      let wake: (() => void) | undefined;
      const settle = () => {
        inFlight--;
        wake?.();
      };
      for (let i = 0; i < messages; i++) {
        inFlight++;
        group![primitive]('B', payload).then(settle, settle);
        while (inFlight >= window) await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async leave() {
      await peer?.close();
      peer = undefined;
      group = undefined;
    },
  };
}
