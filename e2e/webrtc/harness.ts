/**
 * One member of the mixed browser + Node WebRTC test, the same code in a Chromium page (bundled by
 * e2e/browser.test.ts) and in a Node process (member.ts): a peer on the WebRTC transport, in
 * group 'mixed', whose application state is the list of the 'M' messages it delivered, handed to
 * joiners by state transfer.
 */
import { createPeer, type Group, type Peer } from '@synod/peer';
import { webrtc } from '@synod/transport-webrtc';

export interface MemberEvent {
  readonly event: 'view' | 'error';
  readonly [field: string]: unknown;
}

export interface Member {
  readonly address: string;
  readonly memberId: string;
  /** What this member's state holds: the loaded state, then every 'M' delivered since. */
  readonly delivered: string[];
  /** How many entries came from state transfer. */
  readonly loaded: number;
  viewSize(): number;
  viewId(): number;
  /** `count` abcasts `${prefix}.${i}`, each padded with `padChars` characters the receivers drop. */
  send(count: number, prefix: string, padChars?: number): Promise<void>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Fast failure detection for the test; a reloading page also closes its connections at once. */
export const TIMING = { heartbeatMs: 100, suspectAfterMs: 2000, discoveryMs: 200 } as const;

export async function startMember(signaling: string, room: string, onEvent: (event: MemberEvent) => void = () => undefined): Promise<Member> {
  const peer: Peer = await createPeer({ transport: webrtc({ signaling, room }), trace: false });
  let delivered: string[] = [];
  let loaded = 0;
  let group: Group;
  try {
    group = await peer.join('mixed', {
      ...TIMING,
      state: {
        save: () => encoder.encode(JSON.stringify(delivered)),
        load: (bytes) => {
          delivered = JSON.parse(decoder.decode(bytes)) as string[];
          loaded = delivered.length;
        },
      },
    });
  } catch (error) {
    await peer.close({ leave: false });
    throw error;
  }
  group.handle<string>('M', (message) => void delivered.push(message.data.split('~', 1)[0]!));
  group.on('view', (view) => onEvent({ event: 'view', viewId: view.viewId, members: view.members }));
  group.on('error', (error) => onEvent({ event: 'error', message: String(error) }));
  return {
    address: peer.id,
    memberId: group.memberId,
    get delivered() {
      return delivered;
    },
    get loaded() {
      return loaded;
    },
    viewSize: () => group.view?.members.length ?? 0,
    viewId: () => group.view?.viewId ?? -1,
    async send(count, prefix, padChars = 0) {
      const sends: Promise<unknown>[] = [];
      const pad = padChars > 0 ? `~${'x'.repeat(padChars - 1)}` : '';
      for (let i = 0; i < count; i++) sends.push(group.abcast('M', `${prefix}.${i}${pad}`));
      await Promise.all(sends);
    },
    close: () => peer.close(),
  };
}
