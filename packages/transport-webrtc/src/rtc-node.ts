/**
 * WebRTC implementations for Node, loaded on demand (both are optional peer dependencies).
 *
 * node-datachannel (libdatachannel) is the default: in our benchmark (README) it moves more bytes,
 * with a lower round trip, than @roamhq/wrtc, and fires `bufferedamountlow`. It has two needs:
 *   - cleanup() once every connection is closed, or the process never exits: counted here across
 *     the transports of the process, the last one to close calls it;
 *   - a `bindAddress` to gather loopback candidates (libjuice skips loopback interfaces): given
 *     by the app, or 127.0.0.1 by default where loopback is the only interface (a test namespace).
 */
import { networkInterfaces } from 'node:os';
import { toImplementation, type RtcImplementation, type RtcOption } from './rtc.js';

export interface NodeDatachannelOptions {
  /** Local address ICE binds to. Default: 127.0.0.1 when the host has no other interface, else all. */
  readonly bindAddress?: string;
}

let nodeDatachannelUsers = 0;

/** True when every network interface of this host is a loopback one. */
export function onlyLoopback(): boolean {
  return Object.values(networkInterfaces())
    .flat()
    .every((info) => info === undefined || info.internal);
}

export async function nodeDatachannel(options: NodeDatachannelOptions = {}): Promise<RtcImplementation> {
  const [polyfill, native] = await Promise.all([import('node-datachannel/polyfill'), import('node-datachannel')]);
  const bindAddress = options.bindAddress ?? (onlyLoopback() ? '127.0.0.1' : undefined);
  return {
    name: 'node-datachannel',
    RTCPeerConnection: polyfill.RTCPeerConnection as unknown as RtcImplementation['RTCPeerConnection'],
    configuration: bindAddress === undefined ? {} : { bindAddress },
    acquire: () => void nodeDatachannelUsers++,
    release: () => {
      if (--nodeDatachannelUsers === 0) native.cleanup();
    },
  };
}

export async function wrtc(): Promise<RtcImplementation> {
  const module = (await import('@roamhq/wrtc')).default as { RTCPeerConnection: RtcImplementation['RTCPeerConnection'] };
  return { name: '@roamhq/wrtc', RTCPeerConnection: module.RTCPeerConnection };
}

/** The `rtc` option in Node: a library name, an implementation, or the default (node-datachannel). */
export async function resolveNodeRtc(option: RtcOption | Promise<RtcOption> | string | undefined, bindAddress?: string): Promise<RtcImplementation> {
  const chosen = await option;
  if (chosen === undefined || chosen === 'node-datachannel') return nodeDatachannel(bindAddress === undefined ? {} : { bindAddress });
  if (chosen === '@roamhq/wrtc' || chosen === 'wrtc') return wrtc();
  if (typeof chosen === 'string') throw new TypeError(`unknown WebRTC implementation ${chosen}: 'node-datachannel', '@roamhq/wrtc' or an RTCPeerConnection`);
  return toImplementation(chosen);
}
