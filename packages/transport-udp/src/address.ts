/**
 * UDP peer addresses say how to reach a peer, so a static list of them is enough to find a group:
 *
 *   udp:127.0.0.1:40001            udp:[::1]:40001              (where: an IP literal and a port)
 *   udp:127.0.0.1:40001#9f3c01aa   udp:[::1]:40001#9f3c01aa     (who: + the incarnation nonce)
 *
 * A transport's own address always carries its nonce, 32 random bits drawn at start(): a process
 * that restarts on the same port is a new peer with a new address, as the Transport contract
 * requires, and datagrams meant for its previous incarnation are told apart and dropped. Static
 * lists leave the nonce out; the transport learns it from the peer's first datagram.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface UdpAddress {
  /** The IP literal, canonical (IPv6 compressed, lower case), without brackets. */
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** The incarnation, when the address names one; never 0. */
  readonly nonce: number | undefined;
  /** `host:port` (IPv6 in brackets): the socket address, incarnation aside. */
  readonly endpoint: string;
}

const PATTERN = /^udp:(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})(?:#([0-9a-f]{8}))?$/;

/** The canonical form of an IP literal, or undefined when it is not one. */
export function canonicalHost(host: string): { host: string; family: 4 | 6 } | undefined {
  if (isIPv4(host)) return { host, family: 4 };
  if (isIPv6(host) && !host.includes('%')) {
    // WHATWG URL serialises IPv6 canonically (RFC 5952): '0:0::1' → '::1'.
    return { host: new URL(`http://[${host}]/`).hostname.slice(1, -1), family: 6 };
  }
  return undefined;
}

export function endpointOf(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function formatUdpAddress(host: string, port: number, nonce?: number): string {
  const where = `udp:${endpointOf(host, port)}`;
  return nonce === undefined ? where : `${where}#${nonce.toString(16).padStart(8, '0')}`;
}

/** Parses an address; undefined when it is not a well-formed UDP address. Never throws. */
export function parseUdpAddress(address: string): UdpAddress | undefined {
  if (typeof address !== 'string') return undefined;
  const match = PATTERN.exec(address);
  if (!match) return undefined;
  const ip = canonicalHost(match[1] ?? match[2]!);
  const port = Number(match[3]);
  if (!ip || (match[1] !== undefined) !== (ip.family === 6) || port < 1 || port > 65535) return undefined;
  const nonce = match[4] === undefined ? undefined : parseInt(match[4], 16);
  if (nonce === 0) return undefined;
  return { host: ip.host, port, family: ip.family, nonce, endpoint: endpointOf(ip.host, port) };
}

export function isLoopback(host: string, family: 4 | 6): boolean {
  return family === 4 ? host.startsWith('127.') : host === '::1';
}
