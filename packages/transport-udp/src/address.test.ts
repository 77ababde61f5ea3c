import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUdpAddress, parseUdpAddress } from './address.js';

describe('udp addresses', () => {
  it('parse IPv4 and IPv6 socket addresses, with or without an incarnation nonce', () => {
    assert.deepEqual(parseUdpAddress('udp:127.0.0.1:40001'), { host: '127.0.0.1', port: 40001, family: 4, nonce: undefined, endpoint: '127.0.0.1:40001' });
    assert.deepEqual(parseUdpAddress('udp:[::1]:40001#0000beef'), { host: '::1', port: 40001, family: 6, nonce: 0xbeef, endpoint: '[::1]:40001' });
    assert.equal(parseUdpAddress('udp:[0:0:0:0:0:0:0:1]:9')?.endpoint, '[::1]:9', 'IPv6 is made canonical');
  });

  it('round-trip through formatUdpAddress', () => {
    for (const address of ['udp:127.0.0.1:1', 'udp:127.0.0.2:65535#ffffffff', 'udp:[::1]:8787#00000001']) {
      const parsed = parseUdpAddress(address)!;
      assert.equal(formatUdpAddress(parsed.host, parsed.port, parsed.nonce), address);
    }
  });

  it('refuse anything else, without throwing', () => {
    for (const bad of [
      '',
      'udp:',
      'udp:localhost:80', // no DNS names
      'udp:127.0.0.1', // no port
      'udp:127.0.0.1:0',
      'udp:127.0.0.1:65536',
      'udp:::1:80', // IPv6 without brackets
      'udp:[127.0.0.1]:80', // IPv4 in brackets
      'udp:[fe80::1%lo]:80', // zone ids
      'udp:127.0.0.1:80#00000000', // nonce 0 means "any"
      'udp:127.0.0.1:80#BEEF', // short or upper-case nonce
      'tcp:127.0.0.1:80',
      'udp:127.0.0.1:80/1',
      'udp:300.0.0.1:80',
    ]) {
      assert.equal(parseUdpAddress(bad), undefined, bad);
    }
    assert.equal(parseUdpAddress(42 as unknown as string), undefined);
  });
});
