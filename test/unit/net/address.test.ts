import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAddress, ipv6Bytes, isLocalName, normalizeHost } from '../../../src/net/address.js';

describe('classifyAddress', () => {
  // [address, expected reason (substring)]: none of these may be reached by a callback
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['0.0.0.0', /unspecified/],
    ['10.1.2.3', /private/],
    ['172.16.5.5', /private/],
    ['172.31.255.255', /private/],
    ['192.168.0.1', /private/],
    ['100.64.0.1', /CGNAT/],
    ['100.127.255.255', /CGNAT/],
    ['169.254.169.254', /link-local/],
    ['192.0.0.1', /IETF/],
    ['192.0.0.170', /IETF/],
    ['192.0.2.1', /TEST-NET-1/],
    ['198.51.100.1', /TEST-NET-2/],
    ['203.0.113.1', /TEST-NET-3/],
    ['198.18.0.1', /benchmarking/],
    ['198.19.255.255', /benchmarking/],
    ['192.88.99.1', /6to4 relay/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['240.0.0.1', /reserved/],
    ['255.255.255.255', /reserved/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['[::1]', /loopback/],
    // IPv4-mapped, in both spellings (WHATWG URL writes the second)
    ['::ffff:127.0.0.1', /IPv4-mapped 127\.0\.0\.1: loopback/],
    ['::ffff:7f00:1', /IPv4-mapped 127\.0\.0\.1: loopback/],
    ['0:0:0:0:0:ffff:10.0.0.1', /IPv4-mapped 10\.0\.0\.1: private/],
    ['::ffff:a9fe:a9fe', /IPv4-mapped 169\.254\.169\.254: link-local/],
    // IPv4-compatible
    ['::127.0.0.1', /IPv4-compatible 127\.0\.0\.1: loopback/],
    ['::7f00:1', /IPv4-compatible 127\.0\.0\.1: loopback/],
    // NAT64
    ['64:ff9b::7f00:1', /NAT64 127\.0\.0\.1: loopback/],
    ['64:ff9b::192.168.1.1', /NAT64 192\.168\.1\.1: private/],
    ['64:ff9b:1::7f00:1', /local-use NAT64/],
    ['64:ff9b:1::808:808', /local-use NAT64/],
    // 6to4 and Teredo
    ['2002:7f00:1::', /6to4 127\.0\.0\.1: loopback/],
    ['2002:a00:1::1', /6to4 10\.0\.0\.1: private/],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', /Teredo 127\.0\.0\.1: loopback/], // client ~128.255.255.254
    ['2001:0:7f00:1::', /Teredo 127\.0\.0\.1: loopback/], // server 127.0.0.1
    // IPv6 special ranges
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['100::1', /discard/],
    ['2001:db8::1', /documentation/],
    ['3fff::1', /documentation/],
    ['2001:2::1', /IETF/], // benchmarking, inside 2001::/23
    ['::ffff:0:7f00:1', /reserved/], // IPv4-translated (RFC 2765)
    ['4000::1', /reserved/],
    ['not-an-ip', /not an IP/],
  ];
  for (const [ip, reason] of refused) {
    it(`refuses ${ip}`, () => {
      const c = classifyAddress(ip);
      assert.equal(c.global, false, ip);
      assert.match(c.reason, reason);
    });
  }

  const accepted = [
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '192.0.3.1',
    '198.20.0.1',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7', // Teredo: server 65.54.227.120, client 8.8.8.8
  ];
  for (const ip of accepted) {
    it(`accepts ${ip}`, () => assert.deepEqual(classifyAddress(ip), { global: true, reason: '' }));
  }
});

describe('ipv6Bytes', () => {
  it('expands every spelling to the same 16 bytes', () => {
    const want = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1];
    for (const s of ['::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '0::FFFF:127.0.0.1'])
      assert.deepEqual([...ipv6Bytes(s)], want, s);
    assert.deepEqual([...ipv6Bytes('2001:db8::1')], [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual([...ipv6Bytes('1:2:3:4:5:6:7:8')], [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    assert.deepEqual([...ipv6Bytes('1::')], [0, 1, ...new Array(14).fill(0)]);
  });
});

describe('host names', () => {
  it('normalises brackets, case and trailing dots', () => {
    assert.equal(normalizeHost('LocalHost.'), 'localhost');
    assert.equal(normalizeHost('example.com..'), 'example.com');
    assert.equal(normalizeHost('[::1]'), '::1');
  });
  it('knows local names', () => {
    for (const h of [
      'localhost',
      'localhost.',
      'a.localhost',
      'printer.local',
      'db.internal',
      'router.home.arpa',
      'web',
      'x.localdomain',
    ])
      assert.equal(isLocalName(h), true, h);
    for (const h of ['example.com', 'hooks.example.org.', 'internal.example.com'])
      assert.equal(isLocalName(h), false, h);
  });
});
